# make bench: plot of the accounting's scaling from the guest's scaling.csv.
#   gnuplot -e "csv='scaling.csv'; png='scaling.png'" bench/scaling.gp
# Columns: 1 sweep, 2 n, 3 pinned_bytes, 4 mrs, 5 files, 6 owners, 7 pairs,
# 8 module_objects, 9 module_bytes, 10 slab_delta_kb, 11 file_pins_bytes,
# 12 file_pins_read_ns.
set terminal pngcairo size 1200,900 font ",10" noenhanced
set output png
set datafile separator ","
set multiplot layout 2,2 title "daxlease accounting: module memory and /proc/<pid>/file_pins read time"
set grid
set logscale xy
set key top left

sel(s, col) = strcol(1) eq s ? column(col) : NaN

set title "module memory vs count (4 KiB MRs)"
set xlabel "n (MRs / files / owners)"
set ylabel "module bytes (live kmalloc objects)"
plot csv every ::1 using (sel("mrs", 2)):9 with linespoints title "n MRs, 1 file, 1 owner (1 pair)", \
     ''  every ::1 using (sel("files", 2)):9 with linespoints title "n files, 1 MR each (n pairs)", \
     ''  every ::1 using (sel("owners", 2)):9 with linespoints title "n owners, 1 file (n pairs)"

set title "module memory vs pinned size (1 MR, 1 file)"
set xlabel "pinned bytes"
plot csv every ::1 using (sel("size", 3)):9 with linespoints title "module bytes"

set title "/proc/self/file_pins read time vs count"
set xlabel "n (MRs / files / owners)"
set ylabel "read time (us, median)"
plot csv every ::1 using (sel("mrs", 2)):($12/1000) with linespoints title "n MRs, 1 file", \
     ''  every ::1 using (sel("files", 2)):($12/1000) with linespoints title "n files", \
     ''  every ::1 using (sel("owners", 2)):($12/1000) with linespoints title "n owners"

set title "/proc/self/file_pins read time vs pinned size"
set xlabel "pinned bytes"
plot csv every ::1 using (sel("size", 3)):($12/1000) with linespoints title "1 MR"
unset multiplot
