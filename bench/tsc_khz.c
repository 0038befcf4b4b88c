/*
 * make bench, on the host: print the TSC frequency in kHz, measured against
 * CLOCK_MONOTONIC over 200 ms. QEMU's TCG returns the host's TSC to the
 * guest, but the guest cannot calibrate it (no HPET or PM timer without
 * ACPI, and the PIT is too slow under emulation) and falls back to jiffies:
 * 4 ms resolution. tsc_early_khz= hands it the frequency instead.
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int main(void)
{
	struct timespec pause = { .tv_nsec = 200000000 };
	uint64_t t0 = mono_ns(), c0 = __rdtsc(), t1, c1;

	nanosleep(&pause, NULL);
	c1 = __rdtsc();
	t1 = mono_ns();
	printf("%llu\n", (unsigned long long)((c1 - c0) * 1000000ULL / (t1 - t0)));
	return 0;
}
