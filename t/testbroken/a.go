// Package main does not compile: this file has a type error, b.go uses an
// undefined name. The integration suite compares the diagnostics of a plain
// build with those of a build through godistcc.
package main

import "fmt"

var count int = "three"

func main() {
	fmt.Println(count, helper())
}
