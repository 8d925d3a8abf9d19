//go:build cgo

#include "mul.h"

int godistcc_mul(int a, int b)
{
	return a * b;
}
