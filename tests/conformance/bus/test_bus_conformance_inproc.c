/* Runs the bus conformance suite (bus_conformance_support.c) against the
 * in-process bus, or against $VIGIL_BUS_URL when set. */
#include "bus_conformance_support.h"

int main(void)
{
    return vigil_bus_conformance_run("bus conformance (inproc)", "inproc://conformance");
}
