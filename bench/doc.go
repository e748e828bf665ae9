// Package bench holds jampay's benchmarks (go test -bench . -benchmem
// ./bench) and, under its subdirectories, the load and cold-start tools.
// The benchmarks run the real handlers on the in-memory store, so they
// measure jampay's own work, not a network.
package bench
