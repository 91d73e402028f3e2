// ct-go-client: a stock RFC 6962 client (the Go client of Google's
// certificate-transparency project, as Debian packages it) run against a
// real arbord: add-chain with the SCT's signature checked by that library,
// get-sth with its signature checked, get-entries parsed by the library's
// TLS decoders, and the tree rebuilt from the entries to the signed root.
//
// Usage: ct-go-client LOG_URL LOG_PUBKEY_PEM CHAIN_PEM
// Prints one JSON line and exits 0 when every check passes, 1 otherwise.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io/ioutil"
	"net/http"
	"os"
	"strings"
	"time"

	ct "github.com/google/certificate-transparency/go"
	"github.com/google/certificate-transparency/go/client"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "ct-go-client: "+format+"\n", args...)
	os.Exit(1)
}

// mth is the RFC 6962 Merkle Tree Hash of the given leaf hashes.
func mth(h [][]byte) []byte {
	if len(h) == 0 {
		s := sha256.Sum256(nil)
		return s[:]
	}
	if len(h) == 1 {
		return h[0]
	}
	k := 1
	for k*2 < len(h) {
		k *= 2
	}
	l, r := mth(h[:k]), mth(h[k:])
	s := sha256.Sum256(append(append([]byte{1}, l...), r...))
	return s[:]
}

type rawEntries struct {
	Entries []struct {
		LeafInput string `json:"leaf_input"`
		ExtraData string `json:"extra_data"`
	} `json:"entries"`
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: ct-go-client LOG_URL LOG_PUBKEY_PEM CHAIN_PEM")
		os.Exit(2)
	}
	url := strings.TrimRight(os.Args[1], "/")
	keyPEM, err := ioutil.ReadFile(os.Args[2])
	if err != nil {
		fail("%v", err)
	}
	pk, logID, _, err := ct.PublicKeyFromPEM(keyPEM)
	if err != nil {
		fail("log key: %v", err)
	}
	v, err := ct.NewSignatureVerifier(pk)
	if err != nil {
		fail("verifier: %v", err)
	}
	chainPEM, err := ioutil.ReadFile(os.Args[3])
	if err != nil {
		fail("%v", err)
	}
	var chain []ct.ASN1Cert
	for {
		var b *pem.Block
		b, chainPEM = pem.Decode(chainPEM)
		if b == nil {
			break
		}
		chain = append(chain, ct.ASN1Cert(b.Bytes))
	}
	if len(chain) == 0 {
		fail("no certificates in %s", os.Args[3])
	}

	// Bounded: AddChain alone retries for ever on transport errors and 503
	// answers (logging "backing-off"), which would hang rather than fail.
	hc := &http.Client{Timeout: 30 * time.Second}
	c := client.New(url, hc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sct, err := c.AddChainWithContext(ctx, chain)
	if err != nil {
		fail("add-chain: %v", err)
	}
	if !bytes.Equal(sct.LogID[:], logID[:]) {
		fail("the SCT's log ID is not SHA-256 of the log key")
	}
	// RFC 6962 4.1 sends the SCT's extensions base64-encoded (arbord's carry
	// the static-ct-api leaf_index); this client version hands the JSON
	// string on as it is (later versions decode it), so decode it here.
	ext, err := base64.StdEncoding.DecodeString(string(sct.Extensions))
	if err != nil {
		fail("SCT extensions: %v", err)
	}
	sct.Extensions = ct.CTExtensions(ext)
	entry := ct.LogEntry{Leaf: ct.MerkleTreeLeaf{
		Version:  ct.V1,
		LeafType: ct.TimestampedEntryLeafType,
		TimestampedEntry: ct.TimestampedEntry{
			Timestamp:  sct.Timestamp,
			EntryType:  ct.X509LogEntryType,
			X509Entry:  chain[0],
			Extensions: sct.Extensions,
		},
	}}
	if err := v.VerifySCTSignature(*sct, entry); err != nil {
		fail("SCT signature: %v", err)
	}

	sth, err := c.GetSTH()
	if err != nil {
		fail("get-sth: %v", err)
	}
	if err := v.VerifySTHSignature(*sth); err != nil {
		fail("STH signature: %v", err)
	}
	if sth.TreeSize == 0 {
		fail("the tree is empty after add-chain returned")
	}

	// The library's own entry decoding over the whole tree (asked again for
	// the rest when the log answers fewer entries than asked).
	var parsed []ct.LogEntry
	for int64(len(parsed)) < int64(sth.TreeSize) {
		got, err := c.GetEntries(int64(len(parsed)), int64(sth.TreeSize)-1)
		if err != nil {
			fail("get-entries (library): %v", err)
		}
		if len(got) == 0 {
			fail("get-entries (library): no entries from %d", len(parsed))
		}
		parsed = append(parsed, got...)
	}
	if uint64(len(parsed)) != sth.TreeSize {
		fail("get-entries (library): %d entries for a tree of %d", len(parsed), sth.TreeSize)
	}

	// The raw entries: leaf hashes to the signed root, our entry in there
	// with the SCT's timestamp.
	var hashes [][]byte
	found := false
	for start := uint64(0); start < sth.TreeSize; {
		resp, err := hc.Get(fmt.Sprintf("%s/ct/v1/get-entries?start=%d&end=%d", url, start,
			sth.TreeSize-1))
		if err != nil {
			fail("get-entries: %v", err)
		}
		var raw rawEntries
		err = json.NewDecoder(resp.Body).Decode(&raw)
		resp.Body.Close()
		if err != nil || len(raw.Entries) == 0 {
			fail("get-entries: %v (%d entries)", err, len(raw.Entries))
		}
		for _, e := range raw.Entries {
			if start >= sth.TreeSize {
				fail("get-entries: more entries than asked for")
			}
			li, err := base64.StdEncoding.DecodeString(e.LeafInput)
			if err != nil {
				fail("leaf_input: %v", err)
			}
			ed, err := base64.StdEncoding.DecodeString(e.ExtraData)
			if err != nil {
				fail("extra_data: %v", err)
			}
			leaf, err := ct.ReadMerkleTreeLeaf(bytes.NewReader(li))
			if err != nil {
				fail("MerkleTreeLeaf: %v", err)
			}
			switch leaf.TimestampedEntry.EntryType {
			case ct.X509LogEntryType:
				_, err = ct.UnmarshalX509ChainArray(ed)
			case ct.PrecertLogEntryType:
				_, err = ct.UnmarshalPrecertChainArray(ed)
			default:
				err = fmt.Errorf("entry type %d", leaf.TimestampedEntry.EntryType)
			}
			if err != nil {
				fail("extra_data of entry %d: %v", start, err)
			}
			// The library decoded the same leaf (it drops base64 errors on
			// the floor, so its view is only compared, never trusted alone).
			lib := parsed[start].Leaf.TimestampedEntry
			if lib.EntryType != leaf.TimestampedEntry.EntryType ||
				lib.Timestamp != leaf.TimestampedEntry.Timestamp ||
				!bytes.Equal(lib.X509Entry, leaf.TimestampedEntry.X509Entry) {
				fail("entry %d: the library and the raw answer disagree", start)
			}
			if leaf.TimestampedEntry.EntryType == ct.X509LogEntryType &&
				bytes.Equal(leaf.TimestampedEntry.X509Entry, chain[0]) {
				if leaf.TimestampedEntry.Timestamp != sct.Timestamp {
					fail("entry %d: timestamp %d, the SCT says %d", start,
						leaf.TimestampedEntry.Timestamp, sct.Timestamp)
				}
				found = true
			}
			h := sha256.Sum256(append([]byte{0}, li...))
			hashes = append(hashes, h[:])
			start++
		}
	}
	if !found {
		fail("the submitted certificate is not in the log")
	}
	if root := mth(hashes); !bytes.Equal(root, sth.SHA256RootHash[:]) {
		fail("the entries hash to %x, the STH says %x", root, sth.SHA256RootHash[:])
	}
	fmt.Printf("{\"ok\":true,\"tree_size\":%d,\"entries_parsed\":%d,\"sct_timestamp\":%d}\n",
		sth.TreeSize, len(parsed), sct.Timestamp)
}
