// Package stripemockrun runs Stripe's own stripe-mock for tests: the one named
// by STRIPE_MOCK_URL (as .ci/run starts it), or the stripe-mock binary that
// scripts/test.sh installs into .tools/bin (or finds on PATH), started on a
// free loopback port. A request Stripe would reject, stripe-mock rejects.
package stripemockrun

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jampay/jampay/internal/localproc"
)

// Server is a running stripe-mock.
type Server struct {
	URL string
	cmd *exec.Cmd
}

// Start returns the stripe-mock to test against. Call Stop when done.
func Start() (*Server, error) {
	if u := os.Getenv("STRIPE_MOCK_URL"); u != "" {
		return &Server{URL: u}, nil
	}
	bin, err := find()
	if err != nil {
		return nil, err
	}
	ports := make([]int, 2)
	for i := range ports {
		if ports[i], err = localproc.FreePort(); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(bin, "-http-port", fmt.Sprint(ports[0]), "-https-port", fmt.Sprint(ports[1]))
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", ports[0]), cmd: cmd}
	if err := localproc.WaitHTTP(s.URL, 30*time.Second); err != nil {
		s.Stop()
		return nil, fmt.Errorf("stripe-mock: %w", err)
	}
	return s, nil
}

var (
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
)

// Shared is one stripe-mock for the whole test binary, found or started
// (Start) for the first test that asks. Nothing stops it, so one started
// here (no STRIPE_MOCK_URL) outlives the binary: scripts/test.sh and CI
// name one for the whole run.
func Shared() (*Server, error) {
	sharedOnce.Do(func() { shared, sharedErr = Start() })
	return shared, sharedErr
}

// URL is the shared stripe-mock's address, failing t when there is none.
func URL(t testing.TB) string {
	t.Helper()
	s, err := Shared()
	if err != nil {
		t.Fatalf("this test needs stripe-mock: %v", err)
	}
	return s.URL
}

// Stop ends a stripe-mock this package started.
func (s *Server) Stop() {
	if s != nil && s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}

func find() (string, error) {
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	if p, ok := localproc.FindUp(filepath.Join(".tools", "bin", "stripe-mock")); ok {
		return p, nil
	}
	return "", fmt.Errorf("stripe-mock not found: run scripts/test.sh (it installs github.com/stripe/stripe-mock@v0.203.0 into .tools/bin), or set STRIPE_MOCK_URL")
}
