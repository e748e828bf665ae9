package functions_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/jampay/jampay/pkg/config"
	"github.com/jampay/jampay/pkg/dynamostore"
)

// node is template.yaml parsed with CloudFormation's short tags (!Ref,
// !Sub, !GetAtt) kept as tags, so the test can read what they point at.
type node struct{ *yaml.Node }

func loadTemplate(t *testing.T) node {
	t.Helper()
	b, err := os.ReadFile("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return node{doc.Content[0]}
}

func (n node) get(path ...string) node {
	cur := n.Node
	for _, key := range path {
		if cur == nil || cur.Kind != yaml.MappingNode {
			return node{}
		}
		var next *yaml.Node
		for i := 0; i+1 < len(cur.Content); i += 2 {
			if cur.Content[i].Value == key {
				next = cur.Content[i+1]
			}
		}
		cur = next
	}
	return node{cur}
}

func (n node) str() string {
	if n.Node == nil {
		return ""
	}
	return n.Value
}

func (n node) tag() string {
	if n.Node == nil {
		return ""
	}
	return n.Tag
}

func (n node) keys() []string {
	var out []string
	if n.Node != nil && n.Kind == yaml.MappingNode {
		for i := 0; i < len(n.Content); i += 2 {
			out = append(out, n.Content[i].Value)
		}
	}
	return out
}

func (n node) each(fn func(node)) {
	if n.Node != nil {
		for _, c := range n.Content {
			fn(node{c})
		}
	}
}

var functions = map[string]string{"CheckoutFunction": "checkout", "WebhookFunction": "webhook", "StatusFunction": "status",
	"ReconcileFunction": "reconcile", "NotifyFunction": "notify"}

func TestTemplate_FunctionsBuildFromThisRepo(t *testing.T) {
	tpl := loadTemplate(t)
	g := tpl.get("Globals", "Function")
	if g.get("Runtime").str() != "provided.al2023" || g.get("Handler").str() != "bootstrap" || g.get("Architectures").Content[0].Value != "arm64" {
		t.Fatal("functions must run provided.al2023 on arm64 with a bootstrap handler")
	}
	if g.get("MemorySize").str() == "" || g.get("Timeout").str() == "" {
		t.Fatal("memory and timeout must be set")
	}
	makefile, _ := os.ReadFile("../Makefile")
	for logical, dir := range functions {
		fn := tpl.get("Resources", logical)
		if fn.get("Type").str() != "AWS::Serverless::Function" || fn.get("Metadata", "BuildMethod").str() != "makefile" {
			t.Errorf("%s: not a makefile-built function", logical)
		}
		target := regexp.MustCompile(`(?m)^build-` + logical + `:\n\t.*-o \$\(ARTIFACTS_DIR\)/bootstrap \./functions/` + dir + `\s*$`)
		if !target.Match(makefile) {
			t.Errorf("Makefile has no build-%s target building ./functions/%s", logical, dir)
		}
		if out, err := exec.Command("go", "list", "../functions/"+dir).CombinedOutput(); err != nil {
			t.Errorf("./functions/%s: %s", dir, out)
		}
		logs := tpl.get("Resources", strings.TrimSuffix(logical, "Function")+"Logs")
		if logs.get("Properties", "RetentionInDays").str() == "" {
			t.Errorf("%s has no log group with a retention", logical)
		}
	}
	for _, logical := range []string{"CheckoutFunction", "NotifyFunction"} {
		// The checkout prices from the catalog; the mails name the shop from it.
		target := regexp.MustCompile(`(?m)^build-` + logical + `:\n\t.*\n\tcp site/catalog\.json \$\(ARTIFACTS_DIR\)/catalog\.json$`)
		if !target.Match(makefile) {
			t.Errorf("the catalog is not shipped with %s", logical)
		}
	}
}

// env returns a function's environment: Globals merged with its own.
func env(tpl node, logical string) map[string]bool {
	m := map[string]bool{}
	for _, k := range tpl.get("Globals", "Function", "Environment", "Variables").keys() {
		m[k] = true
	}
	for _, k := range tpl.get("Resources", logical, "Properties", "Environment", "Variables").keys() {
		m[k] = true
	}
	return m
}

func TestTemplate_EverySettingTheFunctionsRequire(t *testing.T) {
	tpl := loadTemplate(t)
	need := map[string][]string{
		"CheckoutFunction": {config.TableName, config.SiteURL, config.AllowedOrigins, config.SecretsParameterPath, config.StripeMode,
			config.CheckoutRateLimit, config.CheckoutTTL},
		"WebhookFunction": {config.TableName, config.SecretsParameterPath, config.StripeMode},
		"StatusFunction":  {config.TableName, config.AllowedOrigins},
	}
	for logical, names := range need {
		e := env(tpl, logical)
		for _, n := range names {
			if !e[n] {
				t.Errorf("%s lacks %s", logical, n)
			}
		}
		for _, secret := range config.Secrets {
			if e[secret] {
				t.Errorf("%s has the secret %s in its plaintext environment", logical, secret)
			}
		}
	}
	for _, p := range tpl.get("Parameters").keys() {
		for _, secret := range []string{"Secret", "Key"} {
			if strings.Contains(p, secret) && p != "SecretsPath" {
				t.Errorf("parameter %s looks like a secret: secrets belong in SSM", p)
			}
		}
	}
}

func TestTemplate_EveryRouteToTheRightFunction(t *testing.T) {
	tpl := loadTemplate(t)
	want := map[string]string{
		"POST /api/checkout":            "CheckoutFunction",
		"OPTIONS /api/checkout":         "CheckoutFunction",
		"POST /api/webhooks/{gateway}":  "WebhookFunction",
		"GET /api/orders/{orderId}":     "StatusFunction",
		"OPTIONS /api/orders/{orderId}": "StatusFunction",
		// A subscription's state is the status function's; what asks the
		// gateway (cancel, the portal) is the checkout function's, which
		// holds the keys.
		"GET /api/subscriptions/{id}":            "StatusFunction",
		"OPTIONS /api/subscriptions/{id}":        "StatusFunction",
		"POST /api/subscriptions/{id}/cancel":    "CheckoutFunction",
		"OPTIONS /api/subscriptions/{id}/cancel": "CheckoutFunction",
		"POST /api/subscriptions/{id}/portal":    "CheckoutFunction",
		"OPTIONS /api/subscriptions/{id}/portal": "CheckoutFunction",
		// An access link is owed in the subscription's outbox, and sent
		// (its token made) by the notify function.
		"POST /api/access-links":    "CheckoutFunction",
		"OPTIONS /api/access-links": "CheckoutFunction",
	}
	got := map[string]string{}
	for logical := range functions {
		events := tpl.get("Resources", logical, "Properties", "Events")
		for _, name := range events.keys() {
			ev := events.get(name)
			if ev.get("Type").str() == "Schedule" && logical == "ReconcileFunction" {
				continue // no route: see TestTemplate_ReconcileRunsOnASchedule
			}
			if ev.get("Type").str() == "DynamoDB" && logical == "NotifyFunction" {
				continue // no route: see TestTemplate_NotifyReadsTheStream
			}
			if ev.get("Type").str() != "HttpApi" || ev.get("Properties", "ApiId").Tag != "!Ref" || ev.get("Properties", "ApiId").str() != "HttpApi" {
				t.Errorf("%s.%s is not on the HttpApi", logical, name)
			}
			got[ev.get("Properties", "Method").str()+" "+ev.get("Properties", "Path").str()] = logical
		}
	}
	for route, fn := range want {
		if got[route] != fn {
			t.Errorf("%s goes to %q, want %s", route, got[route], fn)
		}
	}
	if len(got) != len(want) {
		t.Errorf("routes %v, want exactly %v", got, want)
	}
	s := tpl.get("Resources", "HttpApi", "Properties", "DefaultRouteSettings")
	if s.get("ThrottlingRateLimit").str() == "" || s.get("ThrottlingBurstLimit").str() == "" {
		t.Error("the API has no default throttling")
	}
	for _, out := range []string{"ApiUrl", "StripeWebhookUrl", "RazorpayWebhookUrl"} {
		if tpl.get("Outputs", out, "Value").str() == "" {
			t.Errorf("no output %s", out)
		}
	}
}

func TestTemplate_TableMatchesTheStore(t *testing.T) {
	tpl := loadTemplate(t)
	table := tpl.get("Resources", "OrdersTable")
	p := table.get("Properties")
	if table.get("DeletionPolicy").str() != "Retain" || p.get("BillingMode").str() != "PAY_PER_REQUEST" {
		t.Error("the table must be retained and pay-per-request")
	}
	var keys []string
	p.get("KeySchema").each(func(k node) { keys = append(keys, k.get("AttributeName").str()+"/"+k.get("KeyType").str()) })
	if len(keys) != 1 || keys[0] != dynamostore.KeyAttr+"/HASH" {
		t.Errorf("key schema %v, want %s/HASH", keys, dynamostore.KeyAttr)
	}
	if p.get("TimeToLiveSpecification", "AttributeName").str() != dynamostore.TTLAttr || p.get("TimeToLiveSpecification", "Enabled").str() != "true" {
		t.Errorf("TTL is not on %s", dynamostore.TTLAttr)
	}
	if p.get("PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled").str() != "true" || p.get("SSESpecification", "SSEEnabled").str() != "true" {
		t.Error("point-in-time recovery and encryption must be on")
	}
	// The one index, as the store queries it.
	var indexes []string
	p.get("GlobalSecondaryIndexes").each(func(ix node) {
		var ks []string
		ix.get("KeySchema").each(func(k node) { ks = append(ks, k.get("AttributeName").str()+"/"+k.get("KeyType").str()) })
		indexes = append(indexes, ix.get("IndexName").str()+":"+strings.Join(ks, ",")+":"+ix.get("Projection", "ProjectionType").str())
	})
	want := dynamostore.QueueIndex + ":" + dynamostore.QueueAttr + "/HASH," + dynamostore.QueueAtAttr + "/RANGE:ALL"
	if len(indexes) != 1 || indexes[0] != want {
		t.Errorf("indexes %v, want exactly %s", indexes, want)
	}
}

// TestTemplate_ReconcileRunsOnASchedule: a schedule from a parameter, no
// reserved concurrency (one run at a time is the lease's job: any
// reservation fails a deploy on a new AWS account), and the index to query.
func TestTemplate_ReconcileRunsOnASchedule(t *testing.T) {
	tpl := loadTemplate(t)
	fn := tpl.get("Resources", "ReconcileFunction", "Properties")
	if fn.get("Events", "Schedule", "Type").str() != "Schedule" || fn.get("Events", "Schedule", "Properties", "Schedule").str() != "ReconcileSchedule" {
		t.Error("reconcile must run on the ReconcileSchedule parameter")
	}
	if tpl.get("Parameters", "ReconcileSchedule", "Default").str() != "rate(10 minutes)" {
		t.Error("the default schedule must be every 10 minutes")
	}
	if fn.get("ReservedConcurrentExecutions").str() != "" {
		t.Error("no reserved concurrency: the lease keeps runs apart")
	}
	if fn.get("Environment", "Variables", "STRIPE_MODE").str() != "StripeMode" {
		t.Error("reconcile needs STRIPE_MODE")
	}
	// It sends the effects owed too long: the notify function's settings.
	if fn.get("Environment", "Variables", "MAIL_FROM").str() != "MailFrom" || fn.get("Environment", "Variables", "EVENT_BUS_NAME").str() != "EventBusName" {
		t.Error("reconcile needs MAIL_FROM and EVENT_BUS_NAME to send the effects owed too long")
	}
}

// policies returns a function's policies, each branch of a !If that holds
// one included (the notify function's grants exist only when their
// setting is set; AWS::NoValue is none).
func policies(tpl node, logical string) []node {
	var out []node
	tpl.get("Resources", logical, "Properties", "Policies").each(func(pol node) {
		if pol.tag() == "!If" && pol.Kind == yaml.SequenceNode && len(pol.Content) == 3 {
			for _, branch := range pol.Content[1:] {
				if b := (node{branch}); !(b.tag() == "!Ref" && b.str() == "AWS::NoValue") {
					out = append(out, b)
				}
			}
			return
		}
		out = append(out, pol)
	})
	return out
}

// resource is a policy resource as written: a !Sub with variables
// ([template, {vars}]) reads as its template.
func resource(r node) string {
	if r.tag() == "!Sub" && r.Kind == yaml.SequenceNode && len(r.Content) > 0 {
		return r.Content[0].Value
	}
	return r.str()
}

func TestTemplate_NoWildcardResource(t *testing.T) {
	tpl := loadTemplate(t)
	statements := 0
	for logical := range functions {
		for _, pol := range policies(tpl, logical) {
			if pol.Kind != yaml.MappingNode {
				t.Errorf("%s uses a policy template %q: write statements, scoped", logical, pol.str())
				return
			}
			pol.get("Statement").each(func(st node) {
				statements++
				res := st.get("Resource")
				var all []string
				if res.Kind == yaml.SequenceNode {
					res.each(func(r node) { all = append(all, resource(r)) })
				} else {
					all = []string{resource(res)}
				}
				for _, r := range all {
					if strings.Contains(r, "*") || r == "" {
						t.Errorf("%s: statement with resource %q", logical, r)
					}
				}
				actions := []string{st.get("Action").str()}
				st.get("Action").each(func(a node) { actions = append(actions, a.str()) })
				for _, a := range actions {
					if strings.Contains(a, "*") {
						t.Errorf("%s: action %q", logical, a)
					}
				}
			})
		}
	}
	if statements < 5 {
		t.Fatalf("read only %d statements; the test proves little", statements)
	}
}

// ownSecrets is what each function may read from SSM (ARCHITECTURE.md,
// invariant 8): the checkout function no webhook secret, the webhook
// function no key that can move money, the status function nothing.
var ownSecrets = map[string][]string{
	"CheckoutFunction": {config.StripeSecretKey, config.RazorpayKeyID, config.RazorpayKeySecret},
	"WebhookFunction":  {config.StripeWebhookSecret, config.RazorpayWebhookSecret},
	"StatusFunction":   nil,
	// Reconcile expires Stripe sessions and reads both gateways' payments.
	"ReconcileFunction": {config.StripeSecretKey, config.RazorpayKeyID, config.RazorpayKeySecret},
	// Notify sends mail and events: no gateway, no secret.
	"NotifyFunction": nil,
}

// ssmParameters returns the SSM parameter names a function's policy lets it
// read, as written after ${SecretsPath}/, failing on any SSM grant that is
// not GetParameters on one exact parameter under SecretsPath.
func ssmParameters(t *testing.T, tpl node, logical string) []string {
	t.Helper()
	prefix := "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${SecretsPath}/"
	var names []string
	for _, pol := range policies(tpl, logical) {
		pol.get("Statement").each(func(st node) {
			actions := []string{st.get("Action").str()}
			st.get("Action").each(func(a node) { actions = append(actions, a.str()) })
			ssm := false
			for _, a := range actions {
				if strings.HasPrefix(strings.ToLower(a), "ssm:") {
					ssm = true
					if a != "ssm:GetParameters" {
						t.Errorf("%s may %s: want ssm:GetParameters on its own parameters only", logical, a)
					}
				}
			}
			if !ssm {
				return
			}
			var res []node
			if r := st.get("Resource"); r.Kind == yaml.SequenceNode {
				r.each(func(n node) { res = append(res, n) })
			} else {
				res = append(res, r)
			}
			for _, r := range res {
				name, ok := strings.CutPrefix(r.str(), prefix)
				if r.tag() != "!Sub" || !ok || strings.ContainsAny(name, "/*$") {
					t.Errorf("%s: SSM resource %s %q is not one parameter under SecretsPath", logical, r.tag(), r.str())
					continue
				}
				names = append(names, name)
			}
		})
	}
	return names
}

// loaderSecrets returns the names a function's main passes to
// ssmsecrets.LoadConfig, and whether it calls it at all.
func loaderSecrets(t *testing.T, dir string) ([]string, bool) {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../functions/"+dir+"/main.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]string{"StripeSecretKey": config.StripeSecretKey, "StripeWebhookSecret": config.StripeWebhookSecret,
		"RazorpayKeyID": config.RazorpayKeyID, "RazorpayKeySecret": config.RazorpayKeySecret, "RazorpayWebhookSecret": config.RazorpayWebhookSecret}
	var names []string
	called := false
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); !ok || sel.Sel.Name != "LoadConfig" || !isIdent(sel.X, "ssmsecrets") {
			return true
		}
		called = true
		for _, arg := range call.Args[1:] {
			if sel, ok := arg.(*ast.SelectorExpr); ok && isIdent(sel.X, "config") && consts[sel.Sel.Name] != "" {
				names = append(names, consts[sel.Sel.Name])
				continue
			}
			t.Errorf("%s: LoadConfig argument %T is not config.<a secret's name>", dir, arg)
		}
		return true
	})
	return names, called
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

func TestTemplate_EachFunctionReadsOnlyItsOwnSecrets(t *testing.T) {
	tpl := loadTemplate(t)
	for logical, want := range ownSecrets {
		got := ssmParameters(t, tpl, logical)
		slices.Sort(got)
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(got, want) {
			t.Errorf("%s's policy reads %v from SSM, want exactly %v", logical, got, want)
		}
		loaded, called := loaderSecrets(t, functions[logical])
		slices.Sort(loaded)
		if called != (len(want) > 0) || !slices.Equal(loaded, want) {
			t.Errorf("functions/%s asks SSM for %v (LoadConfig called: %v), want exactly %v, what its policy allows",
				functions[logical], loaded, called, want)
		}
		if e := env(tpl, logical); e[config.SecretsParameterPath] != (len(want) > 0) {
			t.Errorf("%s: %s set is %v, want %v", logical, config.SecretsParameterPath, e[config.SecretsParameterPath], len(want) > 0)
		}
	}
}

func TestTemplate_StripeModeIsAParameterPassedToStripesFunctions(t *testing.T) {
	tpl := loadTemplate(t)
	p := tpl.get("Parameters", "StripeMode")
	var allowed []string
	p.get("AllowedValues").each(func(v node) { allowed = append(allowed, v.str()) })
	if !slices.Equal(allowed, []string{"test", "live"}) || p.get("Default").Node != nil {
		t.Errorf("StripeMode: allowed %v, default %q: want test or live, chosen by the owner", allowed, p.get("Default").str())
	}
	for _, logical := range []string{"CheckoutFunction", "WebhookFunction"} {
		v := tpl.get("Resources", logical, "Properties", "Environment", "Variables", config.StripeMode)
		if v.tag() != "!Ref" || v.str() != "StripeMode" {
			t.Errorf("%s: %s is %s %q, want !Ref StripeMode", logical, config.StripeMode, v.tag(), v.str())
		}
	}
}

func TestTemplate_CheckoutLimitsDefaultToTheContract(t *testing.T) {
	tpl := loadTemplate(t)
	for setting, want := range map[string]struct {
		param string
		def   int
	}{
		config.CheckoutRateLimit: {"CheckoutRateLimit", config.DefaultCheckoutRateLimit},
		config.CheckoutTTL:       {"CheckoutTtlMinutes", int(config.DefaultCheckoutTTL.Minutes())},
	} {
		v := tpl.get("Resources", "CheckoutFunction", "Properties", "Environment", "Variables", setting)
		if v.tag() != "!Ref" || v.str() != want.param {
			t.Errorf("%s is %s %q, want !Ref %s", setting, v.tag(), v.str(), want.param)
		}
		if d := tpl.get("Parameters", want.param, "Default").str(); d != strconv.Itoa(want.def) {
			t.Errorf("%s defaults to %q, want the contract's %d", want.param, d, want.def)
		}
	}
}

// The webhook route is throttled apart from checkout and status: a flood of
// one does not starve the other.
func TestTemplate_WebhookRouteHasItsOwnThrottle(t *testing.T) {
	tpl := loadTemplate(t)
	api := tpl.get("Resources", "HttpApi", "Properties")
	def := api.get("DefaultRouteSettings")
	hook := api.get("RouteSettings", "POST /api/webhooks/{gateway}")
	for _, limit := range []string{"ThrottlingRateLimit", "ThrottlingBurstLimit"} {
		h, d := hook.get(limit), def.get(limit)
		if h.tag() != "!Ref" || tpl.get("Parameters", h.str()).Node == nil || h.str() == d.str() {
			t.Errorf("webhook route %s is %s %q: want its own parameter, not the default route's %q", limit, h.tag(), h.str(), d.str())
		}
	}
	for _, route := range api.get("RouteSettings").keys() {
		if route != "POST /api/webhooks/{gateway}" {
			t.Errorf("route settings for %s: checkout and status use the default route settings", route)
		}
	}
}

// TestTemplate_NotifyReadsTheStream: the table's stream carries both
// images (the handler tells the write that owed an effect from the
// dispatcher's claim and mark by the old one), and the event source
// cannot retry a failing record forever or lose it: partial batch
// responses, bisect, retries capped, an on-failure queue.
func TestTemplate_NotifyReadsTheStream(t *testing.T) {
	tpl := loadTemplate(t)
	if v := tpl.get("Resources", "OrdersTable", "Properties", "StreamSpecification", "StreamViewType").str(); v != "NEW_AND_OLD_IMAGES" {
		t.Errorf("the table's stream view is %q, want NEW_AND_OLD_IMAGES", v)
	}
	var streams []node
	events := tpl.get("Resources", "NotifyFunction", "Properties", "Events")
	for _, name := range events.keys() {
		if events.get(name, "Type").str() == "DynamoDB" {
			streams = append(streams, events.get(name, "Properties"))
		}
	}
	if len(streams) != 1 {
		t.Fatalf("NotifyFunction has %d DynamoDB event sources, want the table's stream", len(streams))
	}
	p := streams[0]
	if s := p.get("Stream"); s.tag() != "!GetAtt" || s.str() != "OrdersTable.StreamArn" {
		t.Errorf("the event source reads %s %q, want !GetAtt OrdersTable.StreamArn", s.tag(), s.str())
	}
	if n, err := strconv.Atoi(p.get("MaximumRetryAttempts").str()); err != nil || n < 0 || n > 10 {
		t.Errorf("MaximumRetryAttempts %q: want a cap of at most 10 (unset, a failing record is retried until it leaves the stream)", p.get("MaximumRetryAttempts").str())
	}
	if p.get("BisectBatchOnFunctionError").str() != "true" {
		t.Error("BisectBatchOnFunctionError must be true: a failing record is isolated from the batch")
	}
	var types []string
	p.get("FunctionResponseTypes").each(func(n node) { types = append(types, n.str()) })
	if !slices.Equal(types, []string{"ReportBatchItemFailures"}) {
		t.Errorf("FunctionResponseTypes %v, want [ReportBatchItemFailures]: the handler reports the records that failed", types)
	}
	if n, err := strconv.Atoi(p.get("BatchSize").str()); err != nil || n < 1 || n > 100 {
		t.Errorf("BatchSize %q: want a small batch (each order's dispatch sends mail)", p.get("BatchSize").str())
	}
	if p.get("FilterCriteria", "Filters").Node == nil {
		t.Error("no filter: every item of the table would invoke the function (pkg/notify tests the pattern on real records)")
	}
	onFailure := p.get("DestinationConfig", "OnFailure")
	dest := onFailure.get("Destination")
	queue := strings.TrimSuffix(dest.str(), ".Arn")
	// Type SQS is what makes SAM grant sqs:SendMessage on the queue.
	if onFailure.get("Type").str() != "SQS" || dest.tag() != "!GetAtt" || tpl.get("Resources", queue, "Type").str() != "AWS::SQS::Queue" {
		t.Errorf("on failure: %s %s %q, want Type SQS to a queue of the template", onFailure.get("Type").str(), dest.tag(), dest.str())
	}
	// A claim must outlive the invocation that took it (shop.ClaimFor).
	if to, err := strconv.Atoi(tpl.get("Resources", "NotifyFunction", "Properties", "Timeout").str()); err != nil || to >= 120 {
		t.Errorf("NotifyFunction timeout %q: want under shop.ClaimFor (2 minutes)", tpl.get("Resources", "NotifyFunction", "Properties", "Timeout").str())
	}
}

// TestTemplate_NotifyMayOnlyTellPeople: the notify function may read and
// write the table's items, send as MAIL_FROM and put events on the owner's
// bus — nothing else, and the last two only when their parameter is set.
// Both parameters default to empty (off) and reach the function as its
// settings.
func TestTemplate_NotifyMayOnlyTellPeople(t *testing.T) {
	tpl := loadTemplate(t)
	for param, setting := range map[string]string{"MailFrom": config.MailFrom, "EventBusName": config.EventBusName} {
		p := tpl.get("Parameters", param)
		if p.Node == nil || p.get("Default").Node == nil || p.get("Default").str() != "" {
			t.Errorf("parameter %s must exist and default to empty (off)", param)
		}
		v := tpl.get("Resources", "NotifyFunction", "Properties", "Environment", "Variables", setting)
		if v.tag() != "!Ref" || v.str() != param {
			t.Errorf("NotifyFunction: %s is %s %q, want !Ref %s", setting, v.tag(), v.str(), param)
		}
	}
	type grant struct{ cond, action, resource string }
	var got []grant
	tpl.get("Resources", "NotifyFunction", "Properties", "Policies").each(func(pol node) {
		cond := ""
		if pol.tag() == "!If" && len(pol.Content) == 3 {
			cond = pol.Content[0].Value
			if f := (node{pol.Content[2]}); f.tag() != "!Ref" || f.str() != "AWS::NoValue" {
				t.Errorf("the %s grant's else branch is %s %q, want AWS::NoValue", cond, f.tag(), f.str())
			}
			pol = node{pol.Content[1]}
		}
		pol.get("Statement").each(func(st node) {
			if st.get("Effect").str() != "Allow" {
				return
			}
			var actions, resources []string
			if a := st.get("Action"); a.Kind == yaml.SequenceNode {
				a.each(func(n node) { actions = append(actions, n.str()) })
			} else {
				actions = []string{a.str()}
			}
			if r := st.get("Resource"); r.Kind == yaml.SequenceNode && r.tag() != "!Sub" {
				r.each(func(n node) { resources = append(resources, n.tag()+" "+resource(n)) })
			} else {
				resources = []string{r.tag() + " " + resource(r)}
			}
			for _, a := range actions {
				for _, r := range resources {
					got = append(got, grant{cond, a, r})
				}
			}
		})
	})
	identity := "!Sub arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/"
	want := []grant{
		{"", "dynamodb:GetItem", "!GetAtt OrdersTable.Arn"},
		{"", "dynamodb:PutItem", "!GetAtt OrdersTable.Arn"},
		{"HasMailFrom", "ses:SendEmail", identity + "${MailFrom}"},
		{"HasMailFrom", "ses:SendEmail", identity + "${Domain}"},
		{"HasEventBus", "events:PutEvents", "!Sub arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName}"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("NotifyFunction grants\n%v\nwant exactly\n%v", got, want)
	}
	// ${Domain} is MailFrom's domain, not something wider.
	sub := tpl.get("Resources", "NotifyFunction", "Properties", "Policies")
	found := false
	sub.each(func(pol node) {
		if pol.tag() != "!If" || len(pol.Content) != 3 || pol.Content[0].Value != "HasMailFrom" {
			return
		}
		node{pol.Content[1]}.get("Statement").each(func(st node) {
			st.get("Resource").each(func(r node) {
				if r.Kind == yaml.SequenceNode && len(r.Content) == 2 {
					d := node{r.Content[1]}.get("Domain")
					b, _ := yaml.Marshal(d.Node)
					found = d.tag() == "!Select" && strings.Contains(string(b), `!Split ["@", !Ref MailFrom]`) && strings.HasPrefix(strings.TrimSpace(string(b)), "!Select [1,")
				}
			})
		})
	})
	if !found {
		t.Error("the SES domain identity must be !Select [1, !Split [\"@\", !Ref MailFrom]]")
	}
	for cond, param := range map[string]string{"HasMailFrom": "MailFrom", "HasEventBus": "EventBusName"} {
		b, _ := yaml.Marshal(tpl.get("Conditions", cond).Node)
		if !strings.Contains(string(b), "!Equals [!Ref "+param+", \"\"]") || !strings.HasPrefix(strings.TrimSpace(string(b)), "!Not") {
			t.Errorf("condition %s is %s, want !Not [!Equals [!Ref %s, \"\"]]", cond, b, param)
		}
	}
}

// TestHostsTemplate_TheSameTableAndALeastPrivilegeUser: hosts/aws.yaml,
// for Netlify and Vercel, makes template.yaml's table exactly (a shop can
// move between hosts with it), and a user that can touch that table only.
func TestHostsTemplate_TheSameTableAndALeastPrivilegeUser(t *testing.T) {
	b, err := os.ReadFile("../hosts/aws.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	hosts := node{doc.Content[0]}
	props := func(n node) string {
		out, err := yaml.Marshal(n.Node)
		if err != nil {
			t.Fatal(err)
		}
		// Comments are the two files' own.
		var v any
		if err := yaml.Unmarshal(out, &v); err != nil {
			t.Fatal(err)
		}
		flat, _ := yaml.Marshal(v)
		return string(flat)
	}
	want, got := props(loadTemplate(t).get("Resources", "OrdersTable")), props(hosts.get("Resources", "OrdersTable"))
	if want != got {
		t.Errorf("hosts/aws.yaml's table differs from template.yaml's:\n%s\nwant\n%s", got, want)
	}
	policy := props(hosts.get("Resources", "HostUser", "Properties", "Policies"))
	for _, bad := range []string{"dynamodb:*", "DeleteTable", "CreateTable", "\"*\"", "Resource: '*'", "iam:"} {
		if strings.Contains(policy, bad) {
			t.Errorf("the host user's policy grants %s:\n%s", bad, policy)
		}
	}
	for _, need := range []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query", "ses:SendEmail", "events:PutEvents"} {
		if !strings.Contains(policy, need) {
			t.Errorf("the host user cannot %s", need)
		}
	}
}
