#ifndef GODISTCC_MONOTIME_H
#define GODISTCC_MONOTIME_H
/*
 * Milliseconds of CLOCK_MONOTONIC, for durations, deadlines and backoffs
 * (never for wall-clock time, which auth.c's timestamps use).
 */
long monotime_ms(void);

#endif
