//go:build !amd64

package asmpkg

func sumPair(p *pair) int64 {
	return (p.a + p.b) * scale
}
