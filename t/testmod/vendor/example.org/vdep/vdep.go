// Package vdep is a vendored dependency: it must build with no network,
// no module cache and no go.sum.
package vdep

import "strings"

// Greeting is the message the app prints first.
const Greeting = "hello from vdep"

// Shout upper-cases s and appends an exclamation mark.
func Shout(s string) string {
	return strings.ToUpper(s) + "!"
}
