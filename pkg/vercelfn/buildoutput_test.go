package vercelfn_test

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestVercelBuildOutput checks what `vercel build` made, in the project
// copy VERCEL_BUILD_DIR names: `make vercel-build` runs it after the
// build; without that setting it is skipped. The shapes are Vercel's Build
// Output API (version 3): config.json's routes and crons, and each
// function's .vc-config.json, whose filePathMap points at the bootstrap
// binary relative to the project.
func TestVercelBuildOutput(t *testing.T) {
	dir := os.Getenv("VERCEL_BUILD_DIR")
	if dir == "" {
		t.Skip("VERCEL_BUILD_DIR is not set: `make vercel-build` runs this")
	}
	out := filepath.Join(dir, ".vercel", "output")
	type route struct{ Handle, Src, Dest string }
	var config struct {
		Routes []route
		Crons  []struct{ Path, Schedule string }
	}
	readJSON(t, filepath.Join(out, "config.json"), &config)

	// Files first, then the rewrite: /api/cron/reconcile is its own
	// function, never swallowed by /api/(.*). The rewrite carries the rest
	// of the path in ?path=, so the route survives whichever path Vercel
	// hands the function (see routePath).
	filesystem := slices.IndexFunc(config.Routes, func(r route) bool { return r.Handle == "filesystem" })
	rewrite := slices.IndexFunc(config.Routes, func(r route) bool { return strings.HasPrefix(r.Dest, "/api/index") })
	if filesystem < 0 || rewrite < filesystem || config.Routes[rewrite].Src != "^/api(?:/(.*))$" || config.Routes[rewrite].Dest != "/api/index?path=$1" {
		t.Errorf("routes: filesystem at %d, the rewrite at %d: %+v", filesystem, rewrite, config.Routes)
	}
	if len(config.Crons) != 1 || config.Crons[0].Path != "/api/cron/reconcile" || config.Crons[0].Schedule != "0 5 * * *" {
		t.Errorf("crons: %+v", config.Crons)
	}

	catalog, err := os.ReadFile(filepath.Join(dir, "site", "catalog.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range []string{"api/index.func", "api/cron/reconcile.func"} {
		var vc struct {
			Handler, Runtime, RuntimeLanguage, Architecture string
			MaxDuration                                     int
			FilePathMap                                     map[string]string
		}
		readJSON(t, filepath.Join(out, "functions", fn, ".vc-config.json"), &vc)
		if vc.Handler != "bootstrap" || vc.Runtime != "provided.al2023" || vc.RuntimeLanguage != "go" || vc.MaxDuration != 60 {
			t.Errorf("%s: %+v", fn, vc)
		}
		bin := filepath.Join(dir, vc.FilePathMap["bootstrap"])
		f, err := elf.Open(bin)
		if err != nil {
			t.Errorf("%s: the bootstrap: %v", fn, err)
			continue
		}
		machine := f.Machine
		f.Close()
		b, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		// vercel.json's buildCommand (make hosted-catalog) ran before the
		// Go builder: the binary carries the shop's catalog, byte for byte.
		if machine != elf.EM_X86_64 || !bytes.Contains(b, catalog) {
			t.Errorf("%s: %s, catalog embedded: %v", fn, machine, bytes.Contains(b, catalog))
		}
		t.Logf("%s: %s %s %s, maxDuration %d s, bootstrap %.1f MiB, catalog embedded", fn, vc.Runtime, vc.RuntimeLanguage, machine, vc.MaxDuration, float64(len(b))/(1<<20))
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
