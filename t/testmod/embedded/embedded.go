// Package embedded uses //go:embed with a single file, a directory tree and
// a glob, so that compile gets an -embedcfg listing several files.
package embedded

import (
	"embed"
	"io/fs"
	"strings"
)

//go:embed version.txt
var version string

//go:embed static
var static embed.FS

//go:embed static/*.css
var styles embed.FS

// Version is the content of version.txt without the trailing newline.
func Version() string { return strings.TrimSpace(version) }

// Files lists every embedded file under static, in walk order.
func Files() ([]string, error) {
	var names []string
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	return names, err
}

// Read returns the content of one embedded file.
func Read(name string) ([]byte, error) { return static.ReadFile(name) }

// Styles lists the embedded stylesheets.
func Styles() ([]fs.DirEntry, error) { return styles.ReadDir("static") }
