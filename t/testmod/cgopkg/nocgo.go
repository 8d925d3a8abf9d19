//go:build !cgo

// Package cgopkg calls C when cgo is enabled; this is the fallback.
package cgopkg

// Backend says which implementation was built.
const Backend = "go"

// Add returns a+b.
func Add(a, b int) int { return a + b }

// Mul returns a*b.
func Mul(a, b int) int { return a * b }
