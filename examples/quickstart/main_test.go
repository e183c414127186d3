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
		`searches "curie": 3 customers`,
		"a US tax residence without TIN: enduser: add tax residence: invalid input",
		"locked it: locked, reason suspected_fraud",
		"unlock without stating her identity was verified: scadevice: unlock: invalid input",
		"wallet main holds 125.40 EUR; its balance must be zero before deactivation (failed precondition: true)",
		"deactivated: canceled",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
