"""督办: a supervisor's signed notice to the node that holds a case, with a date to
answer by, and that node's signed answer. One record per notice,
``supervision:{case_no}:{issuing node}:{n}``: the issuing node writes the notice, the
node it names writes the answer (the authority policy's rules), and routing carries it
to both."""
