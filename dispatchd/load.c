#include "load.h"

#include <stdio.h>

#include "banned.h"

/* The one-minute load average, or -1. */
static double load_average(void)
{
	FILE *f = fopen("/proc/loadavg", "re");
	double avg = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%lf", &avg) != 1 || avg < 0)
		avg = -1;
	fclose(f);
	return avg;
}

double load_owner(long running)
{
	double avg = load_average();

	if (avg < 0)
		return -1;
	avg -= (double)running;
	return avg < 0 ? 0 : avg;
}

int load_accepting_at(double max_load, double loadavg, long running)
{
	if (max_load <= 0 || loadavg < 0)
		return 1;
	return loadavg - (double)running <= max_load;
}

int load_accepting(double max_load, long running)
{
	return load_accepting_at(max_load, load_average(), running);
}
