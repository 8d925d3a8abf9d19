#ifndef TESTMOD_MUL_H
#define TESTMOD_MUL_H
int godistcc_mul(int a, int b);
#endif
