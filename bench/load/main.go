// Command load sends signed webhooks at a running `jampay serve` over
// loopback, at set concurrency and share of redeliveries, and prints
// throughput and p50/p99/max latency.
//
// Every event is a real-shaped ~3 KB checkout.session.completed (Razorpay:
// payment.captured) for an order the tool first makes through
// /api/checkout, signed at send time with stripe-go's own signer (Razorpay:
// its HMAC). A redelivery resends an earlier event's bytes, newly signed, as
// Stripe does. After each level the tool reads every order back through
// /api/orders/{id} and fails unless each one is paid: a fast wrong answer
// is not a result.
//
// With no -url it runs the comparison between the bare Go net/http peer
// (validate + decode only, bench/peers/barego), the Node.js peer on the
// `stripe` package's constructEvent (bench/peers/node), `jampay serve` on
// the in-memory store and `jampay serve` on DynamoDB Local. Each is
// started afresh for every measurement, warmed up, then timed; the servers
// take turns for -rounds rounds and the median round is printed, with the
// server's CPU time per request and its peak memory.
//
//	go run ./bench/load                        # the comparison, -c 1,8,64
//	go run ./bench/load -url http://127.0.0.1:8787 -secret whsec_… -c 8 -n 5000 -dup 0.2
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jampay/jampay/bench"
	"github.com/jampay/jampay/internal/ddblocal"
	"github.com/jampay/jampay/internal/localproc"
	"github.com/jampay/jampay/internal/payloads"
	"github.com/jampay/jampay/internal/sandbox"
)

type options struct {
	url, secret, gateway string
	levels               []int
	n                    int
	dup                  float64
	targets              []string
	seed                 uint64
	pid                  int
	rounds, warm         int
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "", "a running `jampay serve` to load (default: start every -targets in turn)")
	flag.StringVar(&o.secret, "secret", "", "its webhook secret, with -url (default $STRIPE_WEBHOOK_SECRET or $RAZORPAY_WEBHOOK_SECRET)")
	flag.StringVar(&o.gateway, "gateway", "stripe", "stripe or razorpay (the peers speak Stripe only)")
	levels := flag.String("c", "1,8,64", "concurrency levels, comma-separated")
	flag.IntVar(&o.n, "n", 5000, "timed requests per level")
	flag.IntVar(&o.warm, "warm", 5000, "requests before the timed ones, at the same level (Node's JIT needs thousands to reach its best)")
	flag.Float64Var(&o.dup, "dup", 0.1, "share of requests that redeliver an event already sent (0 to 0.9)")
	targets := flag.String("targets", "go,node,memory,dynamodb", "what to start and load when there is no -url")
	flag.Uint64Var(&o.seed, "seed", 1, "seed for which requests are redeliveries")
	flag.IntVar(&o.rounds, "rounds", 3, "times each server is measured at each level, taking turns; the median round is reported")
	flag.IntVar(&o.pid, "pid", 0, "with -url: the server's process id, to report its CPU time per request and peak memory")
	flag.Parse()
	for _, s := range strings.Split(*levels, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || c < 1 || c > 1024 {
			fatal(fmt.Errorf("-c: %q is not a concurrency from 1 to 1024", s))
		}
		o.levels = append(o.levels, c)
	}
	o.targets = strings.Split(*targets, ",")
	if o.n < 1 || o.warm < 0 || o.rounds < 1 || o.dup < 0 || o.dup > 0.9 {
		fatal(errors.New("-n and -rounds must be positive and -dup from 0 to 0.9"))
	}
	if o.gateway != "stripe" && o.gateway != "razorpay" {
		fatal(fmt.Errorf("-gateway: %q is not stripe or razorpay", o.gateway))
	}
	if err := run(o); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "load:", err)
	os.Exit(1)
}

// target is one server to load.
type target struct {
	key, name string
	url       string
	jampay    bool // makes orders through /api/checkout and is checked after
	pid       int  // for CPU time and peak memory; 0 when unknown
	client    *http.Client
	start     func() (stop func(), err error) // for one measurement
	close     func()                          // after the last
}

// row is one level's result.
type row struct {
	target        *target
	c, requests   int
	rps           float64
	p50, p99, max time.Duration
	cpu           time.Duration // the server's CPU time per request, user + system
	client        time.Duration // the load tool's own CPU time per request
	rss           string        // the server's peak resident memory
}

func run(o options) error {
	secretEnv := map[string]string{"stripe": "STRIPE_WEBHOOK_SECRET", "razorpay": "RAZORPAY_WEBHOOK_SECRET"}[o.gateway]
	if o.url != "" {
		if o.secret == "" {
			s, _, _ := strings.Cut(os.Getenv(secretEnv), ",")
			o.secret = strings.TrimSpace(s)
		}
		if o.secret == "" {
			return fmt.Errorf("-url needs the server's webhook secret: -secret or $%s", secretEnv)
		}
		t := &target{key: "url", name: "jampay at " + o.url, url: strings.TrimRight(o.url, "/"), jampay: true, pid: o.pid,
			start: func() (func(), error) { return func() {}, nil }, close: func() {}}
		return compare(o, []*target{t})
	}
	if o.gateway != "stripe" {
		return errors.New("the comparison is Stripe's (its peers speak Stripe): use -gateway razorpay with -url")
	}
	o.secret = sandbox.NewSecret("whsec_load_")
	root, ok := localproc.FindUp("go.mod")
	if !ok {
		return errors.New("run from inside the jampay repository")
	}
	root = filepath.Dir(root)
	tmp, err := os.MkdirTemp("", "jampay-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var targets []*target
	defer func() {
		for _, t := range targets {
			t.close()
		}
	}()
	for _, key := range o.targets {
		t, err := newTarget(strings.TrimSpace(key), root, tmp, o.secret)
		if err != nil {
			return err
		}
		targets = append(targets, t)
	}
	return compare(o, targets)
}

// compare measures every target at every level, -rounds times, the
// targets taking turns so that a slow spell of a shared machine falls on
// all of them, and prints the median round of each. Each measurement is on
// a freshly started server, so none carries the heap of earlier ones (the
// in-memory store keeps every order it is given).
func compare(o options, targets []*target) error {
	results := map[*target]map[int][]row{}
	for _, t := range targets {
		results[t] = map[int][]row{}
	}
	var err error
	for round := 0; round < o.rounds && err == nil; round++ {
		for _, c := range o.levels {
			for _, t := range targets {
				var r row
				if r, err = t.measure(o, c, round); err != nil {
					break
				}
				results[t][c] = append(results[t][c], r)
			}
		}
	}
	var rows []row
	for _, t := range targets {
		for _, c := range o.levels {
			if rs := results[t][c]; len(rs) > 0 {
				slices.SortFunc(rs, func(a, b row) int { return cmp.Compare(a.rps, b.rps) })
				rows = append(rows, rs[len(rs)/2])
			}
		}
	}
	printRows(o, rows)
	return err
}

// newTarget builds one of the comparison's servers, to be started for each
// measurement.
func newTarget(key, root, tmp, secret string) (*target, error) {
	// One load generator is one client IP: the checkout rate limit would
	// measure itself, so it is off.
	env := append(os.Environ(), "STRIPE_WEBHOOK_SECRET="+secret, "CHECKOUT_RATE_LIMIT=0")
	t := &target{key: key, close: func() {}}
	var args []string
	switch key {
	case "go":
		t.name = "bare Go net/http (validate + decode)"
		bin, err := goBuild(root, tmp, "./bench/peers/barego")
		if err != nil {
			return nil, err
		}
		args = []string{bin}
	case "node":
		t.name = "Node.js, stripe " + npmVersion(root, "stripe") + " constructEvent"
		args = []string{"node", filepath.Join(root, "bench", "peers", "node", "server.mjs")}
	case "memory", "dynamodb":
		t.jampay, t.name = true, "jampay serve, in-memory store"
		bin, err := goBuild(root, tmp, "./cmd/jampay")
		if err != nil {
			return nil, err
		}
		args = []string{bin, "serve", "-addr", "127.0.0.1:0", "-site", filepath.Join(root, "site"),
			"-catalog", filepath.Join(root, "site", "catalog.json")}
		if key == "dynamodb" {
			ddb, err := ddblocal.Start()
			if err != nil {
				return nil, err
			}
			t.close, t.name = ddb.Stop, "jampay serve, DynamoDB Local"
			env = append(env, "DYNAMODB_ENDPOINT="+ddb.Endpoint)
		}
	default:
		return nil, fmt.Errorf("-targets: unknown %q (go, node, memory, dynamodb)", key)
	}
	t.start = func() (func(), error) {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir, cmd.Env = root, env
		if key == "dynamodb" { // a new table for each start, as a new in-memory store
			cmd.Env = append(env, "TABLE_NAME=jampay-load-"+sandbox.NewSecret(""))
		}
		return startProcess(t, cmd)
	}
	return t, nil
}

// startProcess starts cmd, waits for the address it prints and returns
// how to stop it.
func startProcess(t *target, cmd *exec.Cmd) (func(), error) {
	cmd.Stderr = nil // the servers' logs are not what is measured
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", t.name, err)
	}
	t.pid = cmd.Process.Pid
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	url := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listenRE.FindString(sc.Text()); m != "" && len(url) == 0 {
				url <- m
			}
		}
	}()
	select {
	case t.url = <-url:
		return stop, nil
	case <-time.After(60 * time.Second):
		stop()
		return nil, fmt.Errorf("%s printed no address within 60 s", t.name)
	}
}

// settle is the pause between making the orders and timing their events.
const settle = time.Second

var listenRE = regexp.MustCompile(`http://127\.0\.0\.1:\d+`)

func goBuild(root, tmp, pkg string) (string, error) {
	bin := filepath.Join(tmp, filepath.Base(pkg))
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir, cmd.Stderr = root, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s: %w", pkg, err)
	}
	return bin, nil
}

func npmVersion(root, pkg string) string {
	b, err := os.ReadFile(filepath.Join(root, "node_modules", pkg, "package.json"))
	var p struct{ Version string }
	if err != nil || json.Unmarshal(b, &p) != nil {
		return "(not installed: npm ci)"
	}
	return p.Version
}

// peakRSS formats a process's peak resident memory, or "" if unknown.
func peakRSS(pid int) string {
	if kb := localproc.PeakRSS(pid); kb > 0 {
		return fmt.Sprintf("%.1f MiB", float64(kb)/1024)
	}
	return ""
}

// event is one event the run sends, once or more.
type event struct {
	orderID, token string
	id             string // Razorpay's X-Razorpay-Event-Id
	body           []byte
}

// measure starts t and loads it once at concurrency c: -warm requests,
// then the timed ones, then (for jampay) a check
// that every order was paid. Every target gets the same plan for the same
// level and round.
func (t *target) measure(o options, c, round int) (row, error) {
	stop, err := t.start()
	if err != nil {
		return row{}, err
	}
	defer stop()
	t.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 2048, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 30 * time.Second,
	}}
	defer t.client.CloseIdleConnections()
	rng := rand.New(rand.NewPCG(o.seed, uint64(c)<<16|uint64(round)))
	warmPlan, events, err := plan(o, t, rng, max(o.warm, 1))
	if err != nil {
		return row{}, err
	}
	if _, err := send(o, t, c, warmPlan); err != nil {
		return row{}, fmt.Errorf("%s, warm-up at c=%d: %w", t.name, c, err)
	}
	mainPlan, more, err := plan(o, t, rng, o.n)
	if err != nil {
		return row{}, err
	}
	time.Sleep(settle) // let the setup's background work (GC, sweeping) end outside the timing
	cpu0, self0, start := localproc.CPUTime(t.pid), localproc.CPUTime(os.Getpid()), time.Now()
	lat, err := send(o, t, c, mainPlan)
	elapsed, cpu, self := time.Since(start), localproc.CPUTime(t.pid)-cpu0, localproc.CPUTime(os.Getpid())-self0
	if err != nil {
		return row{}, fmt.Errorf("%s at c=%d: %w", t.name, c, err)
	}
	if t.jampay {
		if err := checkPaid(t, append(events, more...)); err != nil {
			return row{}, fmt.Errorf("%s at c=%d: %w", t.name, c, err)
		}
	}
	slices.Sort(lat)
	return row{target: t, c: c, requests: len(lat), rps: float64(len(lat)) / elapsed.Seconds(),
		p50: lat[len(lat)/2], p99: lat[(len(lat)*99+99)/100-1], max: lat[len(lat)-1],
		cpu: cpu / time.Duration(len(lat)), client: self / time.Duration(len(lat)), rss: peakRSS(t.pid)}, nil
}

// plan decides which of n requests are redeliveries, makes an order for
// each new event (through the API, for jampay) and returns the requests
// in order, with the new events.
func plan(o options, t *target, rng *rand.Rand, n int) ([]*event, []*event, error) {
	isDup := make([]bool, n)
	fresh := 0
	for i := range isDup {
		isDup[i] = i > 0 && rng.Float64() < o.dup
		if !isDup[i] {
			fresh++
		}
	}
	events, err := newEvents(o, t, fresh)
	if err != nil {
		return nil, nil, err
	}
	reqs := make([]*event, 0, n)
	next := 0
	for i := range isDup {
		if isDup[i] {
			reqs = append(reqs, events[rng.IntN(next)])
		} else {
			reqs, next = append(reqs, events[next]), next+1
		}
	}
	return reqs, events, nil
}

// newEvents makes n orders and the payment event of each.
func newEvents(o options, t *target, n int) ([]*event, error) {
	events := make([]*event, n)
	err := parallel(8, n, func(i int) error {
		e := &event{orderID: "ord_" + strings.ToUpper(sandbox.NewSecret(""))[:26]}
		amount, currency, session := int64(4000), "usd", ""
		if t.jampay {
			var err error
			if e.orderID, e.token, session, amount, currency, err = checkout(t.client, t.url, o.gateway); err != nil {
				return err
			}
		}
		if o.gateway == "razorpay" {
			body, id, err := payloads.Razorpay{Type: "payment.captured", OrderID: e.orderID, RazorpayOrderID: session, Amount: amount, Currency: strings.ToUpper(currency)}.Payload()
			e.body, e.id = body, id
			events[i] = e
			return err
		}
		if currency != "usd" {
			return fmt.Errorf("checkout answered currency %s, the load payload is usd", currency)
		}
		e.body, events[i] = bench.StripePayload(e.orderID, session, amount), e
		return nil
	})
	return events, err
}

var checkoutBody = map[string]string{
	"stripe":   `{"gateway":"stripe","items":[{"sku":"tee-m","quantity":2}],"email":"load@example.com"}`,
	"razorpay": `{"gateway":"razorpay","items":[{"sku":"sticker-in","quantity":2}],"email":"load@example.com"}`,
}

// checkout makes an order on jampay serve and returns it with its gateway
// checkout (the sandbox's Checkout Session or Razorpay order), which the
// order's events must name.
func checkout(client *http.Client, base, gateway string) (id, token, session string, amount int64, currency string, err error) {
	resp, err := client.Post(base+"/api/checkout", "application/json", strings.NewReader(checkoutBody[gateway]))
	if err != nil {
		return "", "", "", 0, "", err
	}
	defer resp.Body.Close()
	var c struct {
		OrderID, StatusToken, Currency string
		Amount                         int64
		Checkout                       struct{ URL, OrderID string }
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &c) != nil || c.OrderID == "" {
		return "", "", "", 0, "", fmt.Errorf("POST /api/checkout: %d %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	// Razorpay Checkout is given the Razorpay order; a Stripe checkout URL
	// ends in its session id.
	session = cmp.Or(c.Checkout.OrderID, path.Base(c.Checkout.URL))
	return c.OrderID, c.StatusToken, session, c.Amount, c.Currency, nil
}

// send delivers reqs with c workers and returns each request's latency.
func send(o options, t *target, c int, reqs []*event) ([]time.Duration, error) {
	url := t.url + "/api/webhooks/" + o.gateway
	lat := make([]time.Duration, len(reqs))
	err := parallel(c, len(reqs), func(i int) error {
		e, start := reqs[i], time.Now()
		var err error
		if o.gateway == "razorpay" {
			err = sandbox.SendRazorpay(context.Background(), t.client, url, o.secret, e.id, e.body)
		} else {
			err = sandbox.SendStripe(context.Background(), t.client, url, o.secret, e.body, start)
		}
		lat[i] = time.Since(start)
		return err
	})
	return lat, err
}

// checkPaid reads every order back and fails unless each is paid.
func checkPaid(t *target, events []*event) error {
	var wrong atomic.Int64
	var first sync.Once
	var firstErr error
	err := parallel(8, len(events), func(i int) error {
		req, _ := http.NewRequest("GET", t.url+"/api/orders/"+events[i].orderID, nil)
		req.Header.Set("Authorization", "Bearer "+events[i].token)
		resp, err := t.client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var s struct{ Status string }
		if json.NewDecoder(resp.Body).Decode(&s); s.Status != "paid" {
			wrong.Add(1)
			first.Do(func() {
				firstErr = fmt.Errorf("order %s is %q (HTTP %d), want paid", events[i].orderID, s.Status, resp.StatusCode)
			})
		}
		return nil
	})
	if err == nil && firstErr != nil {
		err = fmt.Errorf("%d of %d orders not paid after the run; first: %w", wrong.Load(), len(events), firstErr)
	}
	return err
}

// parallel runs f(0…n-1) on c goroutines and returns the first error.
func parallel(c, n int, f func(int) error) error {
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range min(c, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					next.Store(int64(n)) // stop the others
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

func printRows(o options, rows []row) {
	size := len(bench.StripePayload("ord_00000000000000000000000000", "", 4000))
	fmt.Printf("\n%d timed requests per level after %d to warm up, each level on a freshly started server; %.0f%% redeliveries; %s events of %d bytes; median of %d rounds; the load tool and the servers share %d CPUs\n\n",
		o.n, o.warm, o.dup*100, o.gateway, size, o.rounds, runtime.NumCPU())
	fmt.Println("| server | concurrency | req/s | p50 | p99 | max | server CPU per request | load tool CPU per request | server peak RSS |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		cpu := ""
		if r.cpu > 0 {
			cpu = fmt.Sprintf("%d µs", r.cpu.Microseconds())
		}
		fmt.Printf("| %s | %d | %.0f | %s | %s | %s | %s | %d µs | %s |\n", r.target.name, r.c, r.rps, ms(r.p50), ms(r.p99), ms(r.max), cpu, r.client.Microseconds(), r.rss)
	}
	at := func(key string, c int) float64 {
		for _, r := range rows {
			if r.target.key == key && r.c == c {
				return r.rps
			}
		}
		return 0
	}
	if mem, node, bare := at("memory", 8), at("node", 8), at("go", 8); mem > 0 && node > 0 && bare > 0 {
		fmt.Printf("\nAt concurrency 8, jampay (in memory) does %.2f× the requests per second of Node (target ≥ 1×: %s) and %.0f%% of bare Go (target ≥ 80%%: %s).\n",
			mem/node, met(mem >= node), 100*mem/bare, met(mem >= 0.8*bare))
		if o.n < 5000 || o.warm < 5000 || o.rounds < 3 {
			fmt.Println("A run this short (or this little warmed up: Node's JIT needs thousands of requests) proves the tools work, not the ratios: the defaults are the measurement.")
		}
	}
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
