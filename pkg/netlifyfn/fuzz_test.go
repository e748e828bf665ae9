package netlifyfn_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jampay/jampay/pkg/netlifyfn"
)

// FuzzEvent: any event Netlify could send — decoded as lambda.Start
// decodes it — becomes a request or an error, never a panic; the body is
// exactly the bytes the client sent, and the path is absolute and never
// the api function's own.
func FuzzEvent(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"path":"/.netlify/functions/api","httpMethod":"POST","body":"AAEC/w==","isBase64Encoded":true}`))
	f.Add([]byte(`{"path":"","rawUrl":"http://x/%zz?a","httpMethod":"GET","rawQuery":"%"}`))
	f.Add([]byte(`{"path":"/api/x","multiValueHeaders":{"A":[null,"1"]},"headers":{"a":"2"},"multiValueQueryStringParameters":{"q":["1, 2"]}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var ev netlifyfn.Event
		if json.Unmarshal(raw, &ev) != nil {
			return
		}
		req, err := netlifyfn.Request(context.Background(), ev)
		if err != nil {
			return
		}
		got, _ := io.ReadAll(req.Body)
		want := []byte(ev.Body)
		if ev.IsBase64Encoded {
			want, _ = base64.StdEncoding.DecodeString(ev.Body)
		}
		if !bytes.Equal(got, want) || req.ContentLength != int64(len(want)) {
			t.Fatalf("body %q became %q", want, got)
		}
		if !strings.HasPrefix(req.URL.Path, "/") || strings.HasPrefix(req.URL.EscapedPath(), netlifyfn.FunctionPath+"/") {
			t.Fatalf("path %q", req.URL.Path)
		}
	})
}
