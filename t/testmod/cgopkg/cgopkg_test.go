package cgopkg

import "testing"

func TestArith(t *testing.T) {
	if got := Add(40, 2); got != 42 {
		t.Fatalf("Add = %d (backend %s)", got, Backend)
	}
	if got := Mul(6, 7); got != 42 {
		t.Fatalf("Mul = %d (backend %s)", got, Backend)
	}
}
