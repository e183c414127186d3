package backoffice_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The README refers only to files and folders that exist: its links, and
// every path-looking name in backquotes.
func TestREADMEReferencesExist(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, m := range regexp.MustCompile(`\]\(([^)#]+)\)`).FindAllStringSubmatch(string(b), -1) {
		if !strings.Contains(m[1], "://") {
			refs = append(refs, m[1])
		}
	}
	for _, m := range regexp.MustCompile("`((?:\\./)?[a-z][a-z0-9_./-]*(?:\\.go|\\.md|\\.sql|/))`").FindAllStringSubmatch(string(b), -1) {
		refs = append(refs, strings.TrimPrefix(m[1], "./"))
	}
	if len(refs) == 0 {
		t.Fatal("found no references; the patterns are wrong")
	}
	for _, r := range refs {
		if _, err := os.Stat(r); err != nil {
			if _, err2 := os.Stat("storage/postgres/migrations/" + r); err2 == nil {
				continue // a migration named by its file name
			}
			t.Errorf("README refers to %s, which does not exist", r)
		}
	}
}
