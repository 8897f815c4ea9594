// Package aql is the subset of ArangoDB's query language AQL that the
// coordinators run for POST /_api/cursor: a parser, bind parameters,
// evaluation against documents, and the shard-level plan that a
// coordinator sends to the DBServers so that they filter, sort and limit
// their shards locally. It is a pure library: no network, no storage.
//
// # Using it
//
// A coordinator parses the query and binds the request's bindVars:
//
//	q, err := aql.Parse(req.Query)     // errorNum 1501, 1502
//	plan, err := q.Bind(req.BindVars)  // errorNum 1551, 1552, 1553, 1504
//	sq, err := plan.ShardQuery()       // JSON, for every shard of plan.Collection()
//
// Each DBServer runs ParseShardQuery(sq) on its shard: it keeps the
// documents Match accepts, sorts them with Less, and answers the first
// Limit of them. The coordinator merges the shards' answers in Less order
// (without SORT, HasSort is false and it may simply concatenate), skips
// Offset documents, keeps Count (all if negative), and answers Return of
// each. Every error is an *Error: answer HTTP 400 with its Num as errorNum
// and its Message as errorMessage.
//
// Documents and bound values are what JSON decoding with UseNumber yields
// (nil, bool, string, json.Number, []any, map[string]any); Go integers and
// floats are accepted as numbers too. Queries, Plans and ShardPlans are
// never modified after they are made, so they may be used concurrently.
//
// # The supported subset
//
// A query is
//
//	FOR var IN collection
//	  FILTER condition        (any number, all must hold)
//	  SORT expr [ASC|DESC], … (any number)
//	  LIMIT [offset,] count   (at most one, after every FILTER and SORT)
//	  RETURN expr
//
// collection is a name, a name quoted with backticks or forward ticks
// (`my-coll`, ´my-coll´), or a collection bind parameter @@name bound to a
// non-empty string. FILTER and SORT may come in any order; a later SORT
// sorts again, stably, so SORT a SORT b orders like SORT b, a. The LIMIT
// values are numbers or value bind parameters; they must not be negative,
// and fractions are rounded toward zero. RETURN ends the query.
//
// Expressions, from the tightest binding to the loosest:
//
//   - operands: null, true, false; numbers (1, -1.5, 2e10, .5, 0x1f,
//     0b101); strings in double or single quotes with the escapes \" \' \\
//     \/ \b \f \n \r \t \uXXXX (a backslash before any other character
//     stands for that character); arrays [a, b]; objects {name: v, "any
//     name": v, @param: v, var} ({var} is {var: var}); trailing commas are
//     allowed in arrays and objects; value bind parameters @name; the FOR
//     variable, the only variable there is; parentheses.
//   - attribute access: var.name, var.`quoted name`, var.@param (a name,
//     or an array of names for a path), x["name"], x[0], x[-1] (from the
//     end), x[@param], x[expr]. An attribute that does not exist, and any
//     access to a value that is no object or array, is null. A string
//     index reads as an integer on arrays, a number as its decimal text on
//     objects; a dot access never reads an array.
//   - NOT x and !x. As in AQL, NOT binds tighter than every comparison:
//     NOT a == b is (NOT a) == b; write NOT (a == b).
//   - <, <=, >, >=
//   - IN, NOT IN
//   - ==, !=
//   - AND, &&
//   - OR, ||
//
// All binary operators are left-associative. Keywords are case-insensitive;
// names, attribute names and bind parameter names are case-sensitive.
// Keywords used as names must be quoted with backticks. Comments are
// // to the end of the line and /* … */.
//
// The semantics are AQL's. Comparisons order values by Compare: first by
// type, null < bool < number < string < array < object, then by value;
// they never convert types (1 == "1" is false, 1 == 1.0 is true, a
// missing attribute == null is true). x IN arr is true when an element of
// arr equals x; it is false when arr is not an array, and NOT IN is then
// true. AND and OR short-circuit and yield one of their operands, like
// JavaScript's && and ||; FILTER and NOT convert to boolean, for which
// null, false, 0 and "" are false and every array and object is true.
//
// # Outside the subset
//
// Anything else fails Parse with errorNum 1501 and ArangoDB's message,
// with the unexpected token, the query from there on and its line:column:
//
//	AQL: syntax error, unexpected INSERT command near 'INSERT d INTO x' at position 1:12; arangomesos does not support INSERT (while parsing)
//
// For AQL that ArangoDB runs and arangomesos does not, the note after the
// position names the construct: LET, COLLECT, WINDOW, INSERT, UPDATE,
// REPLACE, REMOVE, UPSERT, WITH, nested FOR loops, subqueries, FOR over
// anything but a collection (ranges, arrays, value bind parameters), FOR
// with SEARCH, OPTIONS or PRUNE, graph traversals, RETURN DISTINCT,
// function calls, user-defined functions, arithmetic (+ - * / %; a minus
// sign is allowed on number literals only), the ternary operator, ranges,
// LIKE, regular expressions, array comparison operators (ALL ==, ANY IN,
// …), array expansion [*] and the question mark operator [?], computed
// attribute names {[expr]: v}, FILTER or SORT after LIMIT, a second LIMIT,
// and LIMIT values other than numbers and bind parameters. Unknown
// variables are errors too. An empty query string fails with 1502, "query
// is empty".
//
// # Differences from ArangoDB
//
//   - Strings compare by their bytes, that is by Unicode code points, not
//     with ArangoDB's ICU collation: "B" < "a" here, "a" < "B" in
//     ArangoDB. Attribute names of objects compared with each other are
//     sorted the same way.
//   - A name that is not the FOR variable is a syntax error; ArangoDB reads
//     it as a collection (and answers 1203 if there is none).
//   - An object literal that repeats an attribute name keeps the last value.
//   - An unterminated /* comment is an error; ArangoDB ignores it.
//   - Expressions nest at most 1000 deep, bound values 500 deep; numbers
//     must be within the range of a double.
//   - A LIMIT value that is not a non-negative number (1504) is reported by
//     Bind; values above MaxInt/2 are clamped.
//   - Number literals are kept in their shortest form (RETURN 1.50 gives
//     1.5), bound numbers as given.
//   - Positions count bytes as ArangoDB's do; at the end of the query the
//     error points at the last token.
//
// # The shard query
//
// ShardQuery writes the plan's FILTERs, SORT and LIMIT offset+count as an
// AQL query without bind parameters, {"query":"FOR d IN `c` FILTER d.`x`
// == 1 LIMIT 15 RETURN d"}: bound values become literals, attribute paths
// and names are quoted, and the expressions carry exactly the parentheses
// their structure needs. ParseShardQuery parses it with the same parser,
// so a DBServer runs the same subset and decides exactly as the
// coordinator's plan (tested on random queries and documents, and
// fuzzed).
//
// # Performance
//
// Bind folds constant subexpressions and turns attribute paths and
// comparisons with constants into forms that evaluate without allocating;
// IN with a constant array looks strings up in a set. FILTER d.x == @v
// over 200,000 documents takes about 15 ms on one core (BenchmarkMatch).
package aql
