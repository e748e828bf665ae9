package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// pager reads one page of a store's list after a cursor, and the cursor
// of the next page ("" after the last).
type pager[T any] func(after string) ([]T, string, error)

// readAll reads every page.
func readAll[T any](page pager[T]) ([]T, error) {
	var all []T
	for after := ""; ; {
		p, next, err := page(after)
		if err != nil {
			return nil, err
		}
		all = append(all, p...)
		if after = next; after == "" {
			return all, nil
		}
	}
}

// listing is what `jampay orders` and `jampay subscriptions` read and
// print: they differ only in the store's list and how a row looks.
type listing[T any] struct {
	one, many string // what is listed: "order", "orders"
	page      pager[T]
	// keep applies a filter the store's list does not; nil keeps all.
	keep func(T) bool
	// created is an item's creation time and id: the newest come first,
	// the larger id first between two made in the same instant.
	created func(T) (time.Time, string)
	json    func(T) any
	table   func(io.Writer, []T)
}

// run prints the newest limit items, as JSON lines or a table on stdout,
// and how many matched on stderr. The store lists in the Scan's order,
// newest first only within a page: to show the newest of all, every page
// is read, keeping the newest limit. The Scan reads the whole table
// either way.
func (l listing[T]) run(stdout, stderr io.Writer, limit int, asJSON bool) error {
	var newest []T
	matched := 0
	for after := ""; ; {
		page, next, err := l.page(after)
		if err != nil {
			return err
		}
		for _, it := range page {
			if l.keep == nil || l.keep(it) {
				matched++
				newest = append(newest, it)
			}
		}
		slices.SortFunc(newest, l.newestFirst)
		newest = newest[:min(len(newest), limit)]
		if after = next; after == "" {
			break
		}
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		for _, it := range newest {
			if err := enc.Encode(l.json(it)); err != nil {
				return err
			}
		}
	} else if len(newest) > 0 {
		l.table(stdout, newest)
	}
	switch {
	case matched == 0:
		fmt.Fprintf(stderr, "No %s match.\n", l.many)
	case len(newest) < matched:
		fmt.Fprintf(stderr, "The newest %d of %d %s that match (-limit %d).\n", len(newest), matched, l.many, limit)
	default:
		fmt.Fprintf(stderr, "%d %s.\n", matched, plural(matched, l.one, l.many))
	}
	return nil
}

func (l listing[T]) newestFirst(a, b T) int {
	at, aid := l.created(a)
	bt, bid := l.created(b)
	if c := bt.Compare(at); c != 0 {
		return c
	}
	return strings.Compare(bid, aid)
}

// details starts a label-and-value page of one order or subscription: its
// aligned writer (Flush it), and line, which writes a label and its value
// and leaves out a line with no value.
func details(w io.Writer) (*tabwriter.Writer, func(label, value string)) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	return tw, func(label, value string) {
		if value != "" {
			fmt.Fprintf(tw, "%s\t%s\n", label, value)
		}
	}
}
