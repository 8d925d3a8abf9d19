package stats_test

import (
	"testing"

	"example.com/testmod/stats"
)

func TestMean(t *testing.T) {
	if got := stats.Mean([]stats.Celsius{10, 20, 30}); got != 20 {
		t.Fatalf("Mean = %v, want 20", got)
	}
	if got := stats.Mean([]int32{}); got != 0 {
		t.Fatalf("Mean(empty) = %v", got)
	}
}

func TestHistogram(t *testing.T) {
	h := stats.Histogram([]string{"a", "b", "a"})
	if len(h) != 2 || h[0].Key != "a" || h[0].Val != 2 || h[1].Val != 1 {
		t.Fatalf("Histogram = %+v", h)
	}
}

func TestWarm(t *testing.T) {
	if got := stats.Warm([]stats.Celsius{5, 25, 30}, 20); len(got) != 2 {
		t.Fatalf("Warm = %v", got)
	}
}
