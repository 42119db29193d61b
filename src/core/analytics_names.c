/* Names of analytics event kinds and directions (vigil/analytics.h): the
 * text the events carry on the bus, in the warehouse and in the API. In the
 * core library so that the store and the API, which do not link the
 * analytics module, spell them from this one table. */
#include <string.h>

#include "vigil/analytics.h"

static const char *const kinds[] = {NULL, "zone_enter", "zone_leave", "loiter", "line_cross"};
static const char *const directions[] = {"", "in", "out"};

const char *vigil_event_kind_name(int kind)
{
    return kind >= VIGIL_EVENT_ZONE_ENTER && kind <= VIGIL_EVENT_LINE_CROSS ? kinds[kind] : NULL;
}

int vigil_event_kind_parse(const char *name)
{
    if (!name) return 0;
    for (int k = VIGIL_EVENT_ZONE_ENTER; k <= VIGIL_EVENT_LINE_CROSS; k++)
        if (strcmp(kinds[k], name) == 0) return k;
    return 0;
}

const char *vigil_direction_name(int direction)
{
    return direction >= VIGIL_DIR_NONE && direction <= VIGIL_DIR_OUT ? directions[direction] : "";
}

int vigil_direction_parse(const char *name)
{
    for (int d = VIGIL_DIR_NONE; name && d <= VIGIL_DIR_OUT; d++)
        if (strcmp(directions[d], name) == 0) return d;
    return -1;
}
