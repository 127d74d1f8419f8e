"""The synthetic dataset of Project 8 in Lào Cai, for demonstrations and tests. It knows
the programme's registers (teams, savings groups, trusted addresses...) and its
indicator codes; ``d8lib``, the workbench itself, knows none."""
