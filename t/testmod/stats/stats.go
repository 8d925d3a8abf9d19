// Package stats instantiates the generic code of package generics.
package stats

import "example.com/testmod/generics"

// Celsius is a named float type, to instantiate generics with a ~float64.
type Celsius float64

// Mean is the arithmetic mean of xs, 0 for none.
func Mean[T generics.Number](xs []T) float64 {
	if len(xs) == 0 {
		return 0
	}
	return float64(generics.Sum(xs)) / float64(len(xs))
}

// Warm returns the temperatures above limit.
func Warm(ts []Celsius, limit Celsius) []Celsius {
	return generics.Filter(ts, func(t Celsius) bool { return t > limit })
}

// Histogram counts words.
func Histogram(words []string) []generics.Pair[string, int] {
	var c generics.Counter[string]
	var order []string
	for _, w := range words {
		if c.Get(w) == 0 {
			order = append(order, w)
		}
		c.Add(w)
	}
	return generics.Map(order, func(w string) generics.Pair[string, int] {
		return generics.Pair[string, int]{Key: w, Val: c.Get(w)}
	})
}
