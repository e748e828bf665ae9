package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/jampay/jampay/internal/localserver"
	"github.com/jampay/jampay/pkg/config"
)

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8787", "address to listen on")
	site := fs.String("site", "site", "directory of the static site")
	catalog := fs.String("catalog", "", "catalog file (default $"+config.CatalogPath+" or site/catalog.json)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve takes no arguments, got %q", fs.Args())
	}
	srv, err := localserver.Start(ctx, localserver.Options{
		Addr: *addr, SiteDir: *site, CatalogPath: *catalog, Getenv: getenv, Out: stdout, Logger: logger(stderr),
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Press Ctrl+C to stop.")
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Close(shutdown); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "jampay stopped.")
	return nil
}
