// Package generics defines generic types and functions that other packages
// of the module instantiate, so that export data of generic bodies crosses
// package boundaries.
package generics

import "sync"

// Number is the set of types Sum and Mean accept.
type Number interface {
	~int | ~int32 | ~int64 | ~float32 | ~float64
}

// Map applies f to every element of xs.
func Map[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}

// Filter keeps the elements of xs for which keep is true.
func Filter[T any](xs []T, keep func(T) bool) []T {
	var out []T
	for _, x := range xs {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

// Sum adds up xs.
func Sum[T Number](xs []T) T {
	var s T
	for _, x := range xs {
		s += x
	}
	return s
}

// Pair holds two values of possibly different types.
type Pair[K comparable, V any] struct {
	Key K
	Val V
}

// Stack is a LIFO stack.
type Stack[T any] struct {
	items []T
}

// Push adds x on top.
func (s *Stack[T]) Push(x T) { s.items = append(s.items, x) }

// Pop removes the top element; ok is false when the stack is empty.
func (s *Stack[T]) Pop() (x T, ok bool) {
	if len(s.items) == 0 {
		return x, false
	}
	x = s.items[len(s.items)-1]
	s.items = s.items[:len(s.items)-1]
	return x, true
}

// Len is the number of elements.
func (s *Stack[T]) Len() int { return len(s.items) }

// Counter counts occurrences of keys; safe for concurrent use.
type Counter[K comparable] struct {
	mu sync.Mutex
	m  map[K]int
}

// Add counts one more k.
func (c *Counter[K]) Add(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[K]int)
	}
	c.m[k]++
}

// Get returns how often k was added.
func (c *Counter[K]) Get(k K) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}
