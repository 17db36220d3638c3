"""The lark grammar of the model language, shipped inside the package as mcheck.grammar."""
