from fieldlink.cli import main

main()
