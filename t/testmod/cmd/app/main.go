// Command app uses every package of the test module, so that its binary
// depends on generic instantiations, embedded files, assembly, cgo and a
// vendored module.
package main

import (
	"fmt"
	"os"

	"example.com/testmod/asmpkg"
	"example.com/testmod/cgopkg"
	"example.com/testmod/embedded"
	"example.com/testmod/generics"
	"example.com/testmod/stats"
	"example.org/vdep"
)

func main() {
	fmt.Println(vdep.Shout(vdep.Greeting))
	fmt.Println("version:", embedded.Version())
	files, err := embedded.Files()
	if err != nil {
		fmt.Fprintln(os.Stderr, "app:", err)
		os.Exit(1)
	}
	fmt.Println("files:", files)
	fmt.Println("asm:", asmpkg.SumScaled(4, 10))
	fmt.Printf("cgo(%s): %d %d\n", cgopkg.Backend, cgopkg.Add(1, 2), cgopkg.Mul(3, 4))
	fmt.Println("mean:", stats.Mean([]stats.Celsius{18.5, 21, 23.5}))
	for _, p := range stats.Histogram([]string{"go", "c", "go"}) {
		fmt.Printf("%s=%d\n", p.Key, p.Val)
	}
	var s generics.Stack[generics.Pair[string, int]]
	s.Push(generics.Pair[string, int]{Key: "top", Val: 1})
	if top, ok := s.Pop(); ok {
		fmt.Println("stack:", top.Key, top.Val)
	}
}
