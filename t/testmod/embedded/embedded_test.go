package embedded

import "testing"

func TestVersion(t *testing.T) {
	if got := Version(); got != "testmod 1.0" {
		t.Fatalf("Version = %q", got)
	}
}

func TestFiles(t *testing.T) {
	names, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"static/index.html", "static/style.css", "static/sub/nested.txt"}
	if len(names) != len(want) {
		t.Fatalf("Files = %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("Files = %v, want %v", names, want)
		}
	}
	b, err := Read("static/sub/nested.txt")
	if err != nil || string(b) != "nested file\n" {
		t.Fatalf("Read = %q, %v", b, err)
	}
	css, err := Styles()
	if err != nil || len(css) != 1 || css[0].Name() != "style.css" {
		t.Fatalf("Styles = %v, %v", css, err)
	}
}
