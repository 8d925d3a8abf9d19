//go:build cgo

// Package cgopkg calls C: a function from its preamble and one from mul.c.
package cgopkg

/*
#include "mul.h"

static int add(int a, int b) { return a + b; }
*/
import "C"

// Backend says which implementation was built.
const Backend = "cgo"

// Add returns a+b, computed in C.
func Add(a, b int) int { return int(C.add(C.int(a), C.int(b))) }

// Mul returns a*b, computed in mul.c.
func Mul(a, b int) int { return int(C.godistcc_mul(C.int(a), C.int(b))) }
