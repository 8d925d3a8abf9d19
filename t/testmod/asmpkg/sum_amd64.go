//go:build amd64

package asmpkg

// sumPair is implemented in sum_amd64.s.
//
//go:noescape
func sumPair(p *pair) int64
