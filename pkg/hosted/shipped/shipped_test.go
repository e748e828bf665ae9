package shipped_test

import (
	"os"
	"testing"

	"github.com/jampay/jampay/pkg/hosted/shipped"
)

// Without the build's copy, nothing is embedded and the function loads
// CATALOG_PATH; with it (make hosted-catalog), the embedded catalog parses.
func TestCatalog(t *testing.T) {
	c, err := shipped.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	_, copied := os.Stat("catalog/catalog.json")
	if (c != nil) != (copied == nil) {
		t.Fatalf("embedded %v, copied %v", c != nil, copied == nil)
	}
	if c != nil && len(c.Products) == 0 {
		t.Fatal("an embedded catalog with no products")
	}
}
