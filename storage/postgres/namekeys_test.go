package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice/internal/testserver"
)

func migrated(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", testserver.Schema(t))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = Migrate(context.Background(), db, nil)
	require.NoError(t, err)
	return db
}

// E2, C4: the buckets the Go code reads are the ones migration 0012's
// index files users under: a bucket's first instant, the microsecond
// before it and its middle fall where backoffice_name_keys puts them,
// before 2000 too.
func TestNameKeyBucketsAgreeWithTheIndex(t *testing.T) {
	db := migrated(t)
	for _, b := range []int64{-400, -1, 0, 1, 323, 468, 5000} {
		assert.Equal(t, b, bucketOf(bucketStart(b)))
		for _, at := range []time.Time{bucketStart(b), bucketStart(b).Add(-time.Microsecond), bucketStart(b).Add(bucketWidth * time.Second / 2)} {
			var key string
			require.NoError(t, db.QueryRow(`SELECT unnest(backoffice_name_keys('t1', $1, 'abc'))`, at).Scan(&key))
			assert.Equal(t, fmt.Sprintf("t1/%d/abc", bucketOf(at)), key, "%s", at)
		}
	}
}

// E2: a fragment's keys are among the keys of every text holding it, so
// a round's lookup misses no user: random texts of letters, digits,
// punctuation, spaces and letters outside ASCII, and a random piece of
// each, checked by PostgreSQL. A fragment without a key is one keyed
// says is not, and the search reads it without the keys.
func TestNameKeysOfAFragmentAreInEveryTextHoldingIt(t *testing.T) {
	db := migrated(t)
	r := rand.New(rand.NewPCG(23, 4))
	alphabet := []rune("abcdeabcdexyz0129éèüøßç .@-_'%\\")
	var texts, frags []string
	for range 3000 {
		n := 1 + r.IntN(30)
		text := make([]rune, n)
		for i := range text {
			text[i] = alphabet[r.IntN(len(alphabet))]
		}
		from := r.IntN(n)
		to := from + 1 + r.IntN(n-from)
		texts, frags = append(texts, string(text)), append(frags, string(text[from:to]))
	}
	rows, err := db.Query(`SELECT t.text, t.frag, backoffice_name_keys('t1', now(), t.text) @> backoffice_name_keys('t1', now(), t.frag)
		FROM unnest($1::text[], $2::text[]) AS t(text, frag)`, textArray(texts), textArray(frags))
	require.NoError(t, err)
	defer rows.Close()
	seen, checked := 0, 0
	for rows.Next() {
		var text, frag string
		var in sql.NullBool
		require.NoError(t, rows.Scan(&text, &frag, &in))
		seen++
		if keyed(frag) {
			checked++
			assert.True(t, in.Valid && in.Bool, "the keys of %q are not all in those of %q", frag, text)
		}
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, len(texts), seen)
	assert.Greater(t, checked, 500)
}

// textArray is a PostgreSQL array literal of strings, for either driver.
func textArray(list []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, s := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`)
	}
	b.WriteByte('}')
	return b.String()
}

// E2: keyed tells which fragments have three letters or digits in a row.
func TestKeyed(t *testing.T) {
	for frag, want := range map[string]bool{"abc": true, "ABC": true, "a1b": true, "100%": true, "ada lovelace": true,
		"ab": false, "a_a": false, "o'b": false, "a b c": false, "éèü": false, "%": false, "": false, "ab\x00c": false} {
		assert.Equal(t, want, keyed(frag), "%q", frag)
	}
}
