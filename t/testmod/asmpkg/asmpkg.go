// Package asmpkg has an amd64 assembly function that reads a constant and
// struct field offsets from the compiler-generated go_asm.h, and a pure-Go
// version for every other architecture.
package asmpkg

// scale multiplies the sum; the assembly reads it as const_scale.
const scale = 3

// pair is laid out for the assembly, which uses pair_a and pair_b.
type pair struct {
	a   int64
	pad [3]byte
	b   int64
}

// SumScaled returns (a+b)*3.
func SumScaled(a, b int64) int64 {
	p := pair{a: a, b: b}
	return sumPair(&p)
}
