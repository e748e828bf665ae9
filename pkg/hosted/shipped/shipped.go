// Package shipped carries the shop's catalog inside the function binary,
// for hosts that ship a Go function as its binary alone (Netlify zips only
// the bootstrap; Vercel builds from api/): the host's build command copies
// site/catalog.json into this package's catalog directory before the Go
// build embeds it (`make hosted-catalog`). Without that copy the directory
// holds only its placeholder, and Catalog answers nil: the function then
// loads CATALOG_PATH, as in tests.
package shipped

import (
	"bytes"
	"embed"
	"errors"
	"io/fs"

	"github.com/jampay/jampay/pkg/catalog"
)

// files is the catalog directory: all: keeps the placeholder, so the
// package builds before the catalog is copied in.
//
//go:embed all:catalog
var files embed.FS

// Catalog returns the catalog the build embedded, or nil when it embedded
// none. A catalog that does not parse is an error, as at any start.
func Catalog() (*catalog.Catalog, error) {
	b, err := files.ReadFile("catalog/catalog.json")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return catalog.Parse(bytes.NewReader(b))
}
