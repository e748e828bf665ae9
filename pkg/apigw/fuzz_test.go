package apigw_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/jampay/jampay/pkg/apigw"
)

// FuzzRequest: any event API Gateway could send becomes a request or an
// error, never a panic, and the body is exactly the bytes the client sent.
func FuzzRequest(f *testing.F) {
	f.Add("POST", "/api/webhooks/stripe", "", `{"id":"evt_1"}`, false)
	f.Add("GET", "/api/orders/ord_x", "a=1&b=%20", "", false)
	f.Add("POST", "/api/checkout", "", base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 255}), true)
	f.Add("GET", "/%zz/../x", "%", "", false)
	f.Fuzz(func(t *testing.T, method, path, query, body string, b64 bool) {
		ev := events.APIGatewayV2HTTPRequest{RawPath: path, RawQueryString: query, Body: body, IsBase64Encoded: b64,
			Headers: map[string]string{"content-type": "application/json"}}
		ev.RequestContext.HTTP.Method = method
		req, err := apigw.Request(context.Background(), ev)
		if err != nil {
			return
		}
		got, _ := io.ReadAll(req.Body)
		want := []byte(body)
		if b64 {
			want, _ = base64.StdEncoding.DecodeString(body)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("body %q became %q", want, got)
		}
	})
}
