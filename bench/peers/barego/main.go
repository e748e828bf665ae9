// Command barego is the load tool's transport ceiling: a bare net/http
// Stripe webhook endpoint that does only what every endpoint must — read
// the body, check the signature with stripe-go's webhook.ValidatePayload,
// decode the fields jampay uses (stripehook.Decode, the same decoding as the
// benchmarks' floor) — and answers 200. No store, no logging, no
// middleware: what is left of jampay's time over this is jampay's own work.
//
//	STRIPE_WEBHOOK_SECRET=whsec_… go run ./bench/peers/barego -addr 127.0.0.1:0
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/jampay/jampay/pkg/stripehook"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	secret := os.Getenv("STRIPE_WEBHOOK_SECRET")
	if secret == "" {
		fmt.Fprintln(os.Stderr, "barego: STRIPE_WEBHOOK_SECRET is required")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "barego:", err)
		os.Exit(1)
	}
	fmt.Printf("listening http://%s\n", ln.Addr())
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
		if err == nil {
			err = webhook.ValidatePayload(body, r.Header.Get("Stripe-Signature"), secret)
		}
		if err == nil {
			_, err = stripehook.Decode(body)
		}
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "{\"error\":%q}", err.Error())
			return
		}
		io.WriteString(w, `{"received":true}`)
	}), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintln(os.Stderr, "barego:", srv.Serve(ln))
	os.Exit(1)
}
