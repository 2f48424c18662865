/* base/grow: the growable-array step every append-to-a-list in the toolkit shares
 * (capacity doubling, overflow-checked, the array untouched when memory runs out). */
#include "base/base.h"

#include <stdlib.h>
#include <string.h>

int c2_grow(void *items_ptr, size_t elem, size_t need, size_t *cap)
{
    if (need <= *cap)
        return C2_OK;
    size_t n = *cap > 8 ? *cap : 8;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return C2_ENOMEM;
        n *= 2;
    }
    if (elem && n > SIZE_MAX / elem)
        return C2_ENOMEM;
    void *old;
    memcpy(&old, items_ptr, sizeof old);
    void *grown = realloc(old, n * elem);
    if (!grown)
        return C2_ENOMEM;
    memcpy(items_ptr, &grown, sizeof grown);
    *cap = n;
    return C2_OK;
}
