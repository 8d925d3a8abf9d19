package asmpkg

import "testing"

func TestSumScaled(t *testing.T) {
	cases := []struct{ a, b, want int64 }{
		{0, 0, 0},
		{1, 2, 9},
		{-5, 2, -9},
		{1 << 40, 1, (1<<40 + 1) * 3},
	}
	for _, c := range cases {
		if got := SumScaled(c.a, c.b); got != c.want {
			t.Errorf("SumScaled(%d, %d) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
