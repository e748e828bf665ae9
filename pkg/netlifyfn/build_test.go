package netlifyfn_test

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/jampay/jampay/internal/ddblocal"
)

// TestNetlifyBuildOutput checks what `netlify build --offline` made
// (`make netlify-build` runs it with NETLIFY_BUILD_DIR set; skipped
// otherwise): each function's zip holds what Netlify deploys — bootstrap,
// a static Linux amd64 binary, and netlify-toolchain — and the built
// bootstraps answer real events under a stand-in for the Lambda Runtime
// API, as Netlify runs them: the api function a preflight, a checkout
// (stripe-mock is Stripe, DynamoDB Local the table, the catalog the one
// the build embedded: no catalog file is beside the binary) and a forged
// webhook; the reconcile function the scheduler's call, and a call
// without its secret.
func TestNetlifyBuildOutput(t *testing.T) {
	dir := os.Getenv("NETLIFY_BUILD_DIR")
	if dir == "" {
		t.Skip("NETLIFY_BUILD_DIR is unset: run `make netlify-build`")
	}
	bin := t.TempDir()
	for _, fn := range []string{"api", "reconcile"} {
		unzipBootstrap(t, filepath.Join(dir, ".netlify", "functions", fn+".zip"), filepath.Join(bin, fn))
	}

	ddb, err := ddblocal.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer ddb.Stop()
	table := ddb.NewTable(t, ddb.Client(t))
	env := []string{
		"TABLE_NAME=" + table, "DYNAMODB_ENDPOINT=" + ddb.Endpoint, "SITE_URL=" + shopOrigin, "ALLOWED_ORIGINS=" + shopOrigin,
		"STRIPE_SECRET_KEY=sk_test_123", "STRIPE_MODE=test", "STRIPE_WEBHOOK_SECRET=" + whsec, "STRIPE_API_BASE=" + mock.URL,
		"JAMPAY_RECONCILE_SECRET=" + reconcileSecret,
	}

	api := startBootstrap(t, filepath.Join(bin, "api", "bootstrap"), env)
	resp := api.invoke(t, load(t, "dev-preflight.json"))
	if resp.StatusCode != 204 || resp.Headers["Access-Control-Allow-Origin"] != shopOrigin {
		t.Fatalf("preflight: %+v", resp)
	}
	resp = api.invoke(t, netlifyEvent(t, "dev-checkout.json", "POST", "/api/checkout",
		map[string]string{"Content-Type": "application/json", "Origin": shopOrigin},
		[]byte(`{"gateway":"stripe","items":[{"sku":"tee-m","quantity":1}]}`), false))
	if resp.StatusCode != 201 || !strings.Contains(resp.Body, `"amount":2000`) {
		t.Fatalf("checkout: %d %s", resp.StatusCode, resp.Body)
	}
	resp = api.invoke(t, netlifyEvent(t, "dev-binary-body.json", "POST", "/api/webhooks/stripe",
		map[string]string{"Content-Type": "application/json", "Stripe-Signature": "t=1,v1=00"}, []byte(`{"id":"evt_forged"}`), true))
	if resp.StatusCode != 400 || !strings.Contains(resp.Body, "invalid_signature") {
		t.Fatalf("forged webhook: %d %s", resp.StatusCode, resp.Body)
	}
	t.Logf("api bootstrap: ready in %v; preflight 204, checkout 201, forged webhook 400", api.ready)

	reconcile := startBootstrap(t, filepath.Join(bin, "reconcile", "bootstrap"), env)
	if resp := reconcile.invoke(t, load(t, "dev-direct-status.json")); resp.StatusCode != 403 {
		t.Fatalf("reconcile without its secret: %d %s", resp.StatusCode, resp.Body)
	}
	if resp := reconcile.invoke(t, load(t, "dev-schedule.json")); resp.StatusCode != 200 || !strings.Contains(resp.Body, `"open"`) {
		t.Fatalf("reconcile for the scheduler: %d %s", resp.StatusCode, resp.Body)
	}
	t.Logf("reconcile bootstrap: ready in %v; without its secret 403, the scheduler's call 200", reconcile.ready)
}

// unzipBootstrap checks a function zip's entries and writes its bootstrap
// into dir.
func unzipBootstrap(t *testing.T, zipPath, dir string) {
	t.Helper()
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"bootstrap", "netlify-toolchain"}) {
		t.Fatalf("%s holds %v, want bootstrap and netlify-toolchain", zipPath, names)
	}
	rc, err := zr.Open("bootstrap")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	ef, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: bootstrap is not ELF: %v", zipPath, err)
	}
	if ef.Machine != elf.EM_X86_64 || ef.OSABI != elf.ELFOSABI_NONE {
		t.Fatalf("%s: bootstrap is %v/%v, want Linux x86-64", zipPath, ef.Machine, ef.OSABI)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatalf("%s: bootstrap is dynamically linked (CGO_ENABLED must be 0)", zipPath)
		}
	}
	t.Logf("%s: bootstrap %.1f MiB", filepath.Base(zipPath), float64(len(b))/(1<<20))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// runtimeAPI stands in for the Lambda Runtime API a bootstrap polls
// (aws-lambda-go with lambda.norpc): GET …/invocation/next hands out one
// event, POST …/response or …/error takes its answer, POST /init/error a
// failed start.
type runtimeAPI struct {
	events  chan []byte
	results chan string // "ok:<json>" or "error:<text>"
	ready   time.Duration
}

func startBootstrap(t *testing.T, path string, env []string) *runtimeAPI {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &runtimeAPI{events: make(chan []byte), results: make(chan string, 1)}
	started, first := time.Now(), make(chan struct{})
	mux := http.NewServeMux()
	n := 0
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-first:
		default:
			a.ready = time.Since(started)
			close(first)
		}
		select {
		case ev := <-a.events:
			n++
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", fmt.Sprintf("req-%d", n))
			// Netlify's synchronous functions get 60 s; 30 s is what
			// netlify dev gives and what a scheduled function gets.
			w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:012345678912:function:jampay")
			_, _ = w.Write(ev)
		case <-r.Context().Done():
		}
	})
	answer := func(prefix string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			a.results <- prefix + string(b)
			w.WriteHeader(http.StatusAccepted)
		}
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", answer("ok:"))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", answer("error:"))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", answer("error: init: "))
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	cmd := exec.Command(path)
	// Only the function's settings and the Runtime API: no AWS names, no
	// CATALOG_PATH, and a directory with no site/catalog.json in it.
	cmd.Env = append([]string{"AWS_LAMBDA_RUNTIME_API=" + l.Addr().String(), "AWS_LAMBDA_FUNCTION_NAME=" + filepath.Base(filepath.Dir(path))}, env...)
	cmd.Dir = t.TempDir()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", path, stderr.String())
		}
	})
	select {
	case <-first:
	case res := <-a.results:
		t.Fatalf("%s did not start: %s\n%s", path, res, stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("%s never asked for an event:\n%s", path, stderr.String())
	}
	return a
}

func (a *runtimeAPI) invoke(t *testing.T, ev any) events.APIGatewayProxyResponse {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case a.events <- b:
	case <-time.After(20 * time.Second):
		t.Fatal("the function never asked for the event")
	}
	var res string
	select {
	case res = <-a.results:
	case <-time.After(30 * time.Second):
		t.Fatal("no answer")
	}
	body, ok := strings.CutPrefix(res, "ok:")
	if !ok {
		t.Fatalf("the function failed: %s", res)
	}
	var resp events.APIGatewayProxyResponse
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return resp
}
