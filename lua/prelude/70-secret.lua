-- secret('NAME'): a reference to the org's secret NAME (secrets:), for a header or query
-- parameter of http.request (or the org's connection headers/query). It renders to a
-- marker, never the value: the request builder puts the value in place as the request
-- leaves, and step records, the audit log and errors keep the marker or [secret:NAME].
-- In a path or a body (recorded) it is refused when the request is built.
function secret(name)
  return sc.secret_ref(name)
end
