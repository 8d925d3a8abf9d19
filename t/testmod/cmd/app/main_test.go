package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
)

// TestMainOutput runs main with stdout captured.
func TestMainOutput(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	main()
	os.Stdout = old
	w.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"HELLO FROM VDEP!", "version: testmod 1.0", "asm: 42", "go=2", "stack: top 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
