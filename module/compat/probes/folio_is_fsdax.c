// SPDX-License-Identifier: GPL-2.0
/* fsdax folios (6.15): refcounted like other folios, maybe large */
#include <linux/memremap.h>
#include <linux/mm.h>

bool daxlease_probe(struct page *page);
bool daxlease_probe(struct page *page)
{
	return folio_is_fsdax(page_folio(page));
}
