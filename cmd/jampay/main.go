// Command jampay is the site owner's tool: `jampay serve` runs the shop and
// the API locally with no keys, and `jampay trigger` sends one signed test
// webhook to a running jampay.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const usage = `jampay — payments for static sites

Usage:
  jampay serve [-addr 127.0.0.1:8787] [-site site] [-catalog site/catalog.json]
  jampay trigger <stripe|razorpay> <event type> -order ID [-session ID] [-payment ID] [-amount N -currency C] [-url URL]

Settings come from the environment (TABLE_NAME, DYNAMODB_ENDPOINT, SITE_URL,
ALLOWED_ORIGINS, STRIPE_*, RAZORPAY_*); a gateway without keys is the sandbox.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "jampay:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr)
	case "trigger":
		return trigger(ctx, args[1:], getenv, stdout)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

func logger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// shutdownGrace is how long requests in flight get when jampay is stopped.
const shutdownGrace = 5 * time.Second
