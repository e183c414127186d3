package main

import (
	"strings"
	"testing"
)

// The walk-through runs to the end and shows each step's outcome.
func TestQuickstart(t *testing.T) {
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"bootstrapped tenant acme",
		"grace tries a weak password: accessctl: accept invitation: invalid input",
		"grace is now blocked; the right password is refused too: true",
		"grace logged in again",
		"(forbidden: true)",
		"grace's session: accessctl: authenticate: unauthenticated",
		"last active Administrator",
		"operator.invite",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
