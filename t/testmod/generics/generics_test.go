package generics

import (
	"sync"
	"testing"
)

func TestMapFilterSum(t *testing.T) {
	xs := []int{1, 2, 3, 4, 5}
	sq := Map(xs, func(x int) int { return x * x })
	even := Filter(sq, func(x int) bool { return x%2 == 0 })
	if got := Sum(even); got != 20 {
		t.Fatalf("Sum(even squares) = %d, want 20", got)
	}
}

func TestStack(t *testing.T) {
	var s Stack[string]
	s.Push("a")
	s.Push("b")
	if x, ok := s.Pop(); !ok || x != "b" {
		t.Fatalf("Pop = %q, %v", x, ok)
	}
	if s.Len() != 1 {
		t.Fatalf("Len = %d", s.Len())
	}
}

func TestCounterConcurrent(t *testing.T) {
	var c Counter[string]
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				c.Add("k")
			}
		}()
	}
	wg.Wait()
	if got := c.Get("k"); got != 800 {
		t.Fatalf("Get = %d, want 800", got)
	}
}
