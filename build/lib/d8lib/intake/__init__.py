"""What units submit, taken in: the Excel forms d8 hands out (``forms``), the rules
that bound their figures (``bounds``, ``validation``), reading a file (``reading``),
resolving its names and applying the rules (``checking``), taking it in as one
transaction (``submissions``), the store that keeps every accepted
figure with its file (``store``), and the inbox that takes a folder in the order it
was received (``inbox``)."""
